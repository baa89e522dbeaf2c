"""Nothing lost, nothing half-done: atomic product files, bounded input files, one writer per
database, checks before a database is written, read-only use that leaves nothing behind.

Full disks are real here: a child process runs under a small ``RLIMIT_FSIZE`` (with SIGXFSZ
ignored, so a write past the limit fails with EFBIG as on a full disk instead of killing it).
Read-only media are real where the test may make them: a read-only bind mount in a private
mount namespace (``unshare -m``, as root); elsewhere those tests are skipped, saying why.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_evolve_run import ROOT, cli_args, tiny_settings

from symalr import catalog
from symalr.bench.store import BenchStore
from symalr.errors import ConfigError, GrammarError, OutputError, SpecError, StoreError
from symalr.evolve.cache import prepare
from symalr.evolve.config import resolve_config
from symalr.evolve.preflight import check_experiment, check_grammar_yields
from symalr.evolve.runner import create_runs
from symalr.evolve.seeds import SEEDS
from symalr.evolve.store import GenerationRow, IndividualRow, Store, check_database
from symalr.fileio import (
    atomic_output,
    atomic_savefig,
    atomic_write_bytes,
    atomic_write_text,
    read_input_text,
)
from symalr.grammar import load_grammar, parse_grammar

#: A one-generation, one-run experiment of four individuals: seconds on real data.
TINY = {"runs": 1, "sge.population_size": 4, "sge.generations": 1, "fitness.max_epochs": 1,
        "executor.kind": "inline"}


def symalr(*args: str, cwd: Path = ROOT, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, **kw)


def one_line_error(out: subprocess.CompletedProcess, *fragments: str) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("symalr: ")]
    assert len(lines) == 1, out.stderr
    assert all(f in lines[0] for f in fragments), lines[0]
    return lines[0]


def snapshot(path: Path) -> tuple[int, bytes]:
    return os.stat(path).st_mtime_ns, path.read_bytes()


def beside(path: Path) -> list[str]:
    """Every name in ``path``'s folder."""
    return sorted(os.listdir(path.parent))


def file_size_limit(nbytes: int):
    """A ``preexec_fn``: files of the child may not grow past ``nbytes`` (a full disk)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def finished_db(path: Path) -> Path:
    """A finished experiment database with one ranked individual (the momentum seed), built
    through the store without training."""
    config = resolve_config(flags=tiny_settings(**TINY))
    text = SEEDS["momentum"].text
    prepared = prepare(text)
    with Store.create(path) as store:
        (run,) = create_runs(store, config)
        store.add_event([run], "started")
        store.add_generations([(
            GenerationRow(run, 0, {"state": 1}, 0.8, 0.8, 1, 0, 0, 0),
            [IndividualRow(run, 0, 0, {"start": [0]}, text, prepared.spec_json,
                           prepared.canonical, prepared.fingerprint, (), "seed", 0.8,
                           "trained")])])
        store.add_event([run], "finished")
    return path


def sql(path: Path, *statements: str) -> None:
    """Change a database behind symalr's back (rollback journal, so it stays one file)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        for s in statements:
            conn.execute(s)
    finally:
        conn.close()


# ------------------------------------------------------------------------ atomic writes


def test_export_onto_a_full_disk_keeps_the_old_file_whole(tmp_path):
    target = tmp_path / "existing.py"
    target.write_text("# the user's previous export\n")
    before = snapshot(target)
    out = symalr("export", "ades", "-o", str(target), preexec_fn=file_size_limit(1024))
    one_line_error(out, f"{target}: cannot write (File too large)")
    assert snapshot(target) == before
    assert beside(target) == ["existing.py"]  # no temporary file left behind
    fine = symalr("export", "ades", "-o", str(target))
    assert fine.returncode == 0 and "class " in target.read_text()


def test_report_and_regenerate_onto_a_full_disk_keep_old_files(tmp_path):
    db = finished_db(tmp_path / "e.db")
    report = tmp_path / "report"
    report.mkdir()
    old = {}
    for name in ("best.tex", "best_optimizer.py", "fitness.csv", "fitness.png"):
        (report / name).write_text(f"old {name}\n")
        old[name] = snapshot(report / name)
    script = ("import sys; from pathlib import Path; from symalr.evolve.report import "
              "write_report; from symalr.evolve.store import Store; from symalr.errors import "
              "SymalrError\nwith Store.open(Path(sys.argv[1]), readonly=True) as s:\n"
              "    try: write_report(s, [1], Path(sys.argv[2]))\n"
              "    except SymalrError as e: print(e, file=sys.stderr); sys.exit(2)\n")
    out = subprocess.run([sys.executable, "-c", script, str(db), str(report)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120,
                         preexec_fn=file_size_limit(64))  # under any report file
    assert out.returncode == 2 and "cannot write (File too large)" in out.stderr, out.stderr
    assert {n: snapshot(report / n) for n in old} == old
    assert sorted(os.listdir(report)) == sorted(old)

    folder = tmp_path / "generated"
    folder.mkdir()
    (folder / "ades_torch.py").write_text("stale\n")
    before = snapshot(folder / "ades_torch.py")
    out = subprocess.run([sys.executable, "-m", "symalr.regenerate", str(folder)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         preexec_fn=file_size_limit(512))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "cannot write (File too large)" in out.stderr and "Traceback" not in out.stderr
    assert snapshot(folder / "ades_torch.py") == before
    assert all(not n.startswith(".") for n in os.listdir(folder))


def test_atomic_output_leaves_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "table.md"
    target.write_bytes(b"old\n")
    os.chmod(target, 0o640)
    with pytest.raises(RuntimeError, match="a bug"), atomic_output(target) as f:
        f.write(b"half of the new ")
        raise RuntimeError("a bug in the middle of a writer")
    assert target.read_bytes() == b"old\n" and beside(target) == ["table.md"]
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n" and (os.stat(target).st_mode & 0o777) == 0o640
    link = tmp_path / "link.md"
    link.symlink_to(target.name)
    atomic_write_bytes(link, b"through the link\n")
    assert link.is_symlink() and target.read_bytes() == b"through the link\n"
    atomic_write_text(os.devnull, "a stream is written, not replaced")
    with pytest.raises(OutputError, match=r"missing/x\.md: cannot write \(No such file"):
        atomic_write_text(tmp_path / "missing" / "x.md", "x")
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write_text(tmp_path, "a folder is not replaced")


def test_figures_keep_their_format_and_leave_no_temporary_file(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    try:
        atomic_savefig(fig, tmp_path / "curve.svg")
        atomic_savefig(fig, tmp_path / "curve.png", dpi=50)
    finally:
        plt.close(fig)
    assert b"<svg" in (tmp_path / "curve.svg").read_bytes()[:500]
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["curve.png", "curve.svg"]


# ------------------------------------------------------------------------ input files


def test_input_files_are_regular_bounded_utf8(tmp_path):
    fifo = tmp_path / "spec.json"
    os.mkfifo(fifo)  # opening it for reading would block forever without a writer
    sock_path = tmp_path / "sock.json"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xef\xbb\xbf{\"a\": \"\xe9\"}")
    try:
        cases = {tmp_path: "a directory", fifo: "a FIFO", sock_path: "a socket",
                 "/dev/zero": "a character device", big: "2000 bytes, more than the 1000",
                 "/proc/self/maps": "more than the 1000 bytes allowed",  # says size 0
                 bad: "not UTF-8 text: invalid byte at offset 10",
                 tmp_path / "absent.json": "No such file"}
        for path, reason in cases.items():
            with pytest.raises(SpecError) as err:
                read_input_text(path, "spec", SpecError, max_bytes=1000)
            assert str(err.value).startswith(f"{path}: cannot read spec (")
            assert reason in str(err.value) and "\n" not in str(err.value)
    finally:
        sock.close()
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf{}")
    assert read_input_text(bom, "spec", SpecError) == "{}"
    with pytest.raises(GrammarError, match=r"^.*big\.json:0:0: cannot read grammar \(2000"):
        read_input_text(big, "grammar", GrammarError, max_bytes=1000)


def test_cli_refuses_special_input_files_without_blocking(tmp_path):
    fifo = tmp_path / "spec.json"
    os.mkfifo(fifo)
    one_line_error(symalr("latex", str(fifo), timeout=60), "a FIFO, not a regular file")
    one_line_error(symalr("benchmark", "--config", "/dev/zero", timeout=60),
                   "/dev/zero: cannot read benchmark config (a character device")
    one_line_error(symalr("latex", str(tmp_path), timeout=60), "unknown optimizer")


# ------------------------------------------------------------------------ checks first


@pytest.mark.parametrize("settings, fragment", [
    ({"fitness.model": "resnet"}, "fitness.model = 'resnet': unknown model"),
    ({"fitness.model": "cifar_cnn"}, "takes images of shape (3, 32, 32)"),
    ({"fitness.splits": [60_000, 300, 300]}, "fitness.splits = [60000, 300, 300]"),
    ({"seed": 2**63}, "seed = 9223372036854775808"),
    ({"fitness.seed": 2**64}, "fitness.seed = 18446744073709551616"),
])
def test_preflight_refuses_what_would_fail_later(settings, fragment):
    """Refused by the settings schema or by the preflight, before any database exists."""
    with pytest.raises(ConfigError) as err:
        config = resolve_config(flags=tiny_settings(**settings))
        check_experiment(config, load_grammar(config.grammar), [])
    assert fragment in str(err.value)


def test_a_grammar_that_derives_no_optimizer_is_refused():
    rng = np.random.default_rng(0)
    check_grammar_yields(load_grammar("alr"), 17, 6, rng)
    with pytest.raises(ConfigError, match=r"grammar <grammar>: derives text that is not an "
                                          r"optimizer, e.g. '(x|grad)'"):
        check_grammar_yields(parse_grammar("<a> ::= x | grad\n"), 17, None, rng)


def test_bad_grammar_or_stored_config_writes_nothing(tmp_path):
    bnf = tmp_path / "words.bnf"
    bnf.write_text("<s> ::= <e>\n<e> ::= add(x, grad) | grad\n")  # valid, not assignments
    db = tmp_path / "new.db"
    one_line_error(symalr("evolve", "--db", str(db), "--grammar", str(bnf),
                          *cli_args(tiny_settings(**TINY))), f"grammar {bnf}: derives text")
    assert not db.exists()
    # --resume runs the same checks on the stored configuration
    stored = tmp_path / "stored.db"
    with Store.create(stored) as store:
        create_runs(store, resolve_config(flags=tiny_settings(**TINY)))
    sql(stored, "UPDATE runs SET config = json_set(config, '$.fitness.model', 'resnet')")
    before = snapshot(stored)
    one_line_error(symalr("evolve", "--resume", str(stored)), "fitness.model = 'resnet'")
    assert snapshot(stored) == before and beside(stored) == ["stored.db", "words.bnf"]


# ------------------------------------------------------------------------ damaged databases


def test_missing_table_or_column_is_refused_untouched(tmp_path):
    for damage, fragment in (("DROP TABLE lost_attempts", "table lost_attempts is missing"),
                             ("ALTER TABLE runs DROP COLUMN symalr_version",
                              "table runs lacks column(s) symalr_version")):
        db = finished_db(tmp_path / f"{fragment.split()[1]}.db")
        sql(db, damage)
        before = snapshot(db)
        for readonly in (True, False):
            with pytest.raises(StoreError, match=re.escape(f"damaged symalr experiment "
                                                           f"database: {fragment}")):
                Store.open(db, readonly=readonly)
        one_line_error(symalr("show", str(db)), fragment)
        one_line_error(symalr("evolve", "--resume", str(db)), fragment)
        assert snapshot(db) == before


def test_corrupt_json_names_table_and_row(tmp_path):
    db = finished_db(tmp_path / "e.db")
    sql(db, "UPDATE individuals SET parents = '[1, 2' WHERE position = 0")
    with Store.open(db, readonly=True) as store:
        with pytest.raises(StoreError, match=r"e\.db: corrupt JSON in table individuals, run 1 "
                                             r"generation 0 position 0 \("):
            store.individuals(1, 0)
    sql(db, "UPDATE runs SET config = '{\"runs\": ' WHERE run_id = 1")
    before = snapshot(db)
    one_line_error(symalr("show", str(db)), "corrupt JSON in table runs, run 1")
    one_line_error(symalr("evolve", "--resume", str(db)), "corrupt JSON in table runs, run 1")
    assert snapshot(db) == before and beside(db) == ["e.db"]
    sql(db, "UPDATE runs SET config = '[1]' WHERE run_id = 1")
    one_line_error(symalr("show", str(db)), "table runs, run 1: expected a JSON object")


def test_bench_store_decodes_through_the_same_check(tmp_path):
    from symalr.bench.config import build_config
    from symalr.bench.store import Training

    db = tmp_path / "b.sqlite"
    protocol = build_config("quick").protocol()
    spec = catalog.get("adam")
    with BenchStore.open(db) as store:
        entry = store.add_entry(store.add_benchmark({}, protocol, "x"), 0, "adam",
                                spec.to_json())
        store.add_tuning(entry, spec.defaults, spec.to_json(), "k", None)
        store.add_trial(entry, 0, 1, 0.5, 0.1, Training(0.5, 1, [], "max_epochs", None, 1.0))
    sql(db, "UPDATE trials SET curve = 'not json'")
    with BenchStore.open(db, readonly=True) as store:
        with pytest.raises(StoreError, match="corrupt JSON in table trials, benchmark 1 adam"):
            store.trials(protocol)
    assert beside(db) == ["b.sqlite"]


# ------------------------------------------------------------------------ one writer


def _hold(path: Path, kind: str) -> subprocess.Popen:
    """A child process that opens ``path`` for writing and keeps it open."""
    script = ("import sys; from symalr.evolve.store import Store; from symalr.bench.store "
              "import BenchStore\n"
              f"s = ({kind}.create if '{kind}' == 'Store' else {kind}.open)(sys.argv[1])\n"
              "print('held', flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    return child


@pytest.mark.parametrize("kind", ["Store", "BenchStore"])
def test_a_second_writer_is_refused_and_a_killed_one_leaves_no_lock(tmp_path, kind):
    path = tmp_path / "x.db"
    child = _hold(path, kind)
    try:
        opener = Store.open if kind == "Store" else BenchStore.open
        with pytest.raises(StoreError, match=rf"x\.db: another process \(pid {child.pid}\) "
                                             "is writing this"):
            opener(path)
        opener(path, readonly=True).close()  # readers are welcome
    finally:
        child.kill()
        child.wait()
    with opener(path) as store:  # the kernel dropped the dead writer's lock
        assert store.path == path
    assert beside(path) == ["x.db"]  # back to one file at rest


def test_two_evolve_processes_never_write_one_database(tmp_path):
    db = tmp_path / "e.db"
    settings = cli_args(tiny_settings(**TINY))
    first = subprocess.Popen([sys.executable, "-m", "symalr.cli", "evolve", "--db", str(db),
                              "--no-report", *settings], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _has_event(db, "started"):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr
            time.sleep(0.05)
        first.send_signal(signal.SIGSTOP)  # holds the database, frozen mid-run
        for args in (("--resume", str(db)), ("--db", str(db), *settings)):
            started = time.monotonic()
            one_line_error(symalr("evolve", *args),
                           f"{db}: another process (pid {first.pid}) is writing this")
            assert time.monotonic() - started < 60  # refused at once, before any training
    finally:
        first.kill()
        first.communicate()
    resumed = symalr("evolve", "--resume", str(db), "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    with Store.open(db, readonly=True) as store:
        events = [e for (e,) in store.query("SELECT event FROM run_events ORDER BY event_id")]
        assert len(store.runs()) == 1  # the refused --db added no batch
    assert events == ["created", "started", "resumed", "finished"]
    assert beside(db) == ["e.db"]


def _has_event(db: Path, event: str) -> bool:
    try:
        with Store.open(db, readonly=True) as store:
            return bool(store.count("run_events", "event = ?", (event,)))
    except (sqlite3.Error, StoreError):
        return False


def test_full_disk_during_a_run_is_one_line_and_leaves_a_readable_database(tmp_path):
    db = tmp_path / "e.db"
    out = symalr("evolve", "--db", str(db), *cli_args(tiny_settings(**TINY)),
                 preexec_fn=file_size_limit(90_000))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.splitlines()[-1].startswith(f"symalr: {db}: cannot write ("), out.stderr
    check_database(db)
    with Store.open(db, readonly=True) as store:
        assert store.runs()[0].status != "finished"
    assert symalr("show", str(db)).returncode == 0


# ------------------------------------------------------------------------ read-only use


def test_read_only_use_leaves_nothing_beside_the_database(tmp_path):
    db = finished_db(tmp_path / "e.db")
    assert beside(db) == ["e.db"]
    show = symalr("show", str(db))
    export = symalr("export", "--from", str(db))
    latex = symalr("latex", f"{db}#1")
    assert show.returncode == export.returncode == latex.returncode == 0
    assert "run 1: finished" in show.stdout and "class " in export.stdout
    assert beside(db) == ["e.db"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def _read_only_mount(folder: Path, command: str) -> subprocess.CompletedProcess:
    """Run ``command`` (shell) with ``folder`` bind-mounted read-only over itself, in a
    private mount namespace; skip the test where that cannot be done."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to make read-only media")
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && ' \
             f"{command}"
    out = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    if "mount:" in out.stderr or "unshare:" in out.stderr:
        pytest.skip(f"cannot mount read-only here: {out.stderr.strip()}")
    return out


def test_read_only_media_serve_finished_databases_and_refuse_writers(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    db = finished_db(folder / "e.db")
    before = snapshot(db)
    py = f'"{sys.executable}" -m symalr.cli'
    out = _read_only_mount(folder, (
        f"touch {folder}/probe 2>/dev/null && echo WRITABLE; "
        f"{py} show {db} && {py} export --from {db} > /dev/null && {py} latex {db}#1 "
        f"> /dev/null && echo READ-OK; "
        f"{py} evolve --resume {db}; echo resume=$?; "
        f"{py} evolve --db {folder}/new.db {shlex.join(cli_args(tiny_settings(**TINY)))}; "
        f"echo new=$?"))
    assert "WRITABLE" not in out.stdout, "the bind mount is not read-only"
    assert "run 1: finished" in out.stdout and "READ-OK" in out.stdout, out.stderr
    assert "resume=2" in out.stdout and "new=2" in out.stdout, out.stderr
    errors = out.stderr.splitlines()
    assert "Traceback" not in out.stderr and len(errors) == 2, out.stderr
    assert errors[0] == (f"symalr: {db}: read-only; a writer needs write access to the "
                         "experiment database and its folder")
    assert errors[1].startswith(f"symalr: {folder}/new.db: cannot create experiment database ")
    assert snapshot(db) == before and beside(db) == ["e.db"]
