"""Benchmark building blocks without training: config, store, tuning, statistics, tables, plots."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess

import pytest
from scipy.stats import mannwhitneyu

from symalr import catalog
from symalr.bench import stats
from symalr.bench.config import build_config, load_overrides
from symalr.bench.plots import accuracy_boxplot, mean_curve, validation_curves
from symalr.bench.report import build_report
from symalr.bench.store import BenchStore, Training, TrialRecord, TuningCall, setting_key
from symalr.bench.tables import latex, markdown
from symalr.bench.tuning import tune
from symalr.errors import ConfigError, StoreError
from symalr.render.latex import latex_document
from symalr.safe_text import tex_text
from symalr.spec import HyperParam, make_spec

# --------------------------------------------------------------------------- config


def test_presets_and_derived_values():
    paper = build_config("paper")
    assert (paper.tune_calls, paper.tune_initial_points, paper.tune_epochs) == (100, 10, 100)
    assert (paper.trials, paper.trial_epochs, paper.initial_points) == (30, 1000, 10)
    assert paper.protocol()["train_size"] == 53_000 and paper.model_name == "mnist_cnn"
    cifar = build_config("paper", {"dataset": "cifar10"})
    assert cifar.dataset == "cifar-10" and cifar.model_name == "cifar_cnn"
    assert cifar.protocol()["train_size"] == 43_000
    quick = build_config("quick", {"tune_calls": 3})
    assert quick.initial_points == 2  # cut to fit: the defaults probe + 2 random
    assert build_config("quick", {"tune_calls": 0}).initial_points == 0


@pytest.mark.parametrize("overrides, fragment", [
    ({"epochs": 3}, "unknown key epochs"),
    ({"trials": -1}, r"trials = -1: expected an integer in \[0, 10_000\]"),
    ({"tune_epochs": "2"}, "tune_epochs = '2': expected an integer"),
    ({"dataset": "mnist"}, "unknown data set 'mnist'"),
    ({"train_size": 60_000}, r"train_size = 60000: expected an integer in \[1, 53_000\]"),
    ({"dataset": "cifar10", "train_size": 50_000}, "train_size = 50000: expected at most 43000"),
    ({"optimizers": []}, r"optimizers = \[\]: expected a list of 1 to 100 entries"),
])  # fmt: skip
def test_bad_settings_are_config_errors(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        build_config("quick", overrides)


def test_config_file_errors_name_the_file(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"trials": 2, "tune_epoch": 1}))
    with pytest.raises(ConfigError, match=r"bench.json: unknown key tune_epoch "):
        build_config("quick", load_overrides(path), where=str(path))
    path.write_text("{oops")
    with pytest.raises(ConfigError, match=r"bench.json:1:2: invalid JSON"):
        load_overrides(path)
    with pytest.raises(ConfigError, match="preset = 'fast': expected one of"):
        build_config("fast")


# --------------------------------------------------------------------------- store


def _training(acc: float, epochs: int = 2) -> Training:
    curve = [dict(epoch=e, loss=1.0, val_loss=0.5, val_accuracy=acc - 0.01 * (epochs - e),
                  seconds=0.1) for e in range(1, epochs + 1)]
    return Training(acc, epochs, curve, "max_epochs", None, 0.2)


def test_store_appends_and_reads_back(tmp_path):
    db = tmp_path / "b.sqlite"
    protocol = build_config("quick").protocol()
    spec = catalog.get("adam")
    with BenchStore.open(db) as store:
        bid = store.add_benchmark({"x": 1}, protocol, "symalr benchmark")
        eid = store.add_entry(bid, 0, "adam", spec.to_json())
        store.add_tuning_call(eid, TuningCall(0, spec.defaults, _training(0.8)))
        key = setting_key(spec.to_json(), protocol)
        store.add_tuning(eid, spec.defaults, spec.to_json(), key, 0)
        store.add_trial(eid, 0, 123, 0.75, math.nan, _training(0.8))
        with pytest.raises(sqlite3.IntegrityError):  # a trial is never replaced
            store.add_trial(eid, 0, 123, 0.70, 1.0, _training(0.8))
    with BenchStore.open(db, readonly=True) as store:
        (call,) = store.tuning_calls(eid)
        assert call.params == spec.defaults and call.training == _training(0.8)
        (t,) = store.trials(protocol)
        assert (t.name, t.seed, t.test_accuracy, t.setting) == ("adam", 123, 0.75, key)
        assert math.isnan(t.test_loss)
        assert store.trials({**protocol, "trial_epochs": 99}) == []
        assert store.latest_protocol("fashion-mnist") == protocol


def test_store_refuses_foreign_files(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database")
    with pytest.raises(StoreError, match="not an SQLite database"):
        BenchStore.open(text)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="foreign SQLite database"):
        BenchStore.open(other)
    assert other.read_bytes() == before
    with pytest.raises(StoreError, match="no such benchmark database"):
        BenchStore.open(tmp_path / "absent.sqlite", readonly=True)


# --------------------------------------------------------------------------- tuning


def _bowl(values):
    return -((values["lr"] - 0.3) ** 2 + (values["beta_1"] - 0.6) ** 2 + values["beta_2"] ** 2)


def test_tuning_probes_defaults_first_within_bounds_and_is_seeded():
    spec = catalog.get("adam")
    result = tune(spec, _bowl, n_calls=7, initial_points=3, seed=5)
    assert len(result.calls) == 7
    assert result.calls[0][0] == spec.defaults
    for values, _ in result.calls:
        assert values["epsilon"] == 1e-7  # not tunable: fixed
        assert all(0.0 <= values[k] <= 1.0 for k in ("lr", "beta_1", "beta_2"))
    assert result.best_score == max(s for _, s in result.calls)
    assert result.best_score > _bowl(spec.defaults)
    assert tune(spec, _bowl, 7, 3, seed=5).calls == result.calls
    assert tune(spec, _bowl, 7, 3, seed=6).calls[1:] != result.calls[1:]


def test_tuning_declared_bounds_log_scale_and_nothing_to_tune():
    spec = make_spec("scaled", [], "-lr*g",
                     [HyperParam("lr", 0.01, low=1e-4, high=0.1, log=True)])
    result = tune(spec, lambda v: -abs(math.log10(v["lr"]) + 2.5), 5, 2, seed=0)
    assert result.calls[0][0] == {"lr": 0.01}
    assert all(1e-4 <= v["lr"] <= 0.1 for v, _ in result.calls)
    fixed = make_spec("fixed", [], "-lr*g", [HyperParam("lr", 0.5, tunable=False)])
    seen = []
    one = tune(fixed, lambda v: seen.append(v) or 0.5, 10, 3, seed=0)
    assert seen == [{"lr": 0.5}] and one.best_values == {"lr": 0.5}
    with pytest.raises(ConfigError):
        tune(spec, _bowl, 0, 0, seed=0)


# --------------------------------------------------------------------------- statistics


def test_summary_and_mann_whitney_match_numpy_and_scipy():
    s = stats.summarize([1.0, 2.0, 4.0])
    assert (s.n, s.mean) == (3, pytest.approx(7 / 3))
    assert s.sd == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2
                                            + (4 - 7 / 3) ** 2) / 2))
    assert math.isnan(stats.summarize([3.0]).sd)
    xs, ys = [1.0, 2.0, 3.0, 4.0], [2.5, 5.0, 6.0, 7.0]
    t = stats.mann_whitney("a", xs, "b", ys)
    ref = mannwhitneyu(xs, ys, alternative="two-sided")
    assert (t.u, t.p) == (pytest.approx(ref.statistic), pytest.approx(ref.pvalue))
    pairs = stats.pairwise({"a": xs, "b": ys, "c": [9.0]})
    assert [(p.a, p.b) for p in pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert stats.best_two({"a": 1.0, "b": math.nan, "c": 3.0, "d": 2.0}) == ("c", "d")


# --------------------------------------------------------------------------- tables, plots


def _record(name: str, spec, acc: float, k: int, protocol) -> TrialRecord:
    key = setting_key(spec.to_json(), protocol)
    return TrialRecord(1, name, key, spec.to_json(), k, 100 + k, acc, 0.3, _training(acc + 0.01))


@pytest.fixture
def report():
    protocol = build_config("quick").protocol()
    odd = make_spec("my_opt+1", [], "-lr*g", [HyperParam("lr", 0.02)])
    tuned_adam = catalog.get("adam").with_defaults({"lr": 0.00127})
    records = []
    for k in range(4):
        records.append(_record("ades", catalog.get("ades"), 0.90 + 0.001 * k, k, protocol))
        records.append(_record("adam", tuned_adam, 0.89 + 0.001 * k, k, protocol))
        records.append(_record("adam", catalog.get("adam"), 0.80 + 0.002 * k, k, protocol))
        records.append(_record("my_opt+1", odd, 0.70, k, protocol))
    return build_report(records, protocol)


def test_report_groups_settings_and_ranks(report):
    assert [r.label for r in report.rows] == ["ADES", "Adam [1]", "Adam [2]", "my_opt+1"]
    assert report.best == ("ADES", "Adam [1]")
    ades = report.rows[0]
    assert ades.test.n == 4 and ades.test.mean == pytest.approx(90.15)
    assert [p.name for p in ades.params] == ["beta_1", "beta_2"]  # epsilon-free, tunable only
    assert [p.name for p in report.rows[1].params] == ["lr", "beta_1", "beta_2"]
    assert report.rows[1].params[0].value == 0.00127
    assert ades.paper.test == (92.87, 0.16) and report.rows[3].paper is None
    assert len(report.tests) == 6 and report.benchmarks == 1


def test_markdown_table(report):
    md = markdown(report)
    assert "| **ADES** | beta_1 = 0.08922, beta_2 = 0.0891 | 4 | 91.15 ± 0.13 | **90.15 ± 0.13** |" in md
    assert "beta_1 = 0.87621, beta_2 = 0.76132 | 93.53 ± 0.11 | 92.87 ± 0.16 |" in md
    assert "| my_opt+1 | lr = 0.02 | 4 | 71.00 ± 0.00 | 70.00 ± 0.00 | – | – | – |" in md
    p = stats.mann_whitney("a", [90.0, 90.1, 90.2, 90.3], "b", [89.0, 89.1, 89.2, 89.3]).p
    assert f"between the best two, ADES and Adam [1]: U = 16, p = {p:.3g}." in md
    assert "Paper:" not in md.split("\n\n")[3]  # the paper's test needs ADES and Nesterov
    assert f"| ADES | **{p:.3g}** |" in md  # the best pair bold in the pairwise table


def test_paper_test_shown_beside_ours_when_both_optimizers_are_there():
    protocol = build_config("quick").protocol()
    records = [_record(n, catalog.get(n), 0.9 + 0.001 * k * (n == "ades"), k, protocol)
               for n in ("ades", "nesterov") for k in range(3)]
    md = markdown(build_report(records, protocol))
    assert "between the best two, ADES and Nesterov: U = 7.5, p = " in md
    assert md.count("Paper: ADES vs Nesterov, p = 0.267.") == 1


def test_latex_table_compiles(report, tmp_path):
    tex = latex(report)
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"my\_opt+1" in tex
    assert r"\textbf{ADES}" in tex and r"$\mathbf{90.15 \pm 0.13}$" in tex
    assert r"$\beta_1 = 0.87621$" in tex  # paper values with our LaTeX names
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "t.tex").write_text(latex_document(tex))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_tex_text():
    assert tex_text("a_b&c%d$e#f{g}~^\\") == (r"a\_b\&c\%d\$e\#f\{g\}\textasciitilde{}"
                                              r"\textasciicircum{}\textbackslash{}")


def test_plots_write_png(report, tmp_path):
    for draw, name in ((accuracy_boxplot, "box.png"), (validation_curves, "curves.png")):
        path = draw(report, tmp_path / name)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    assert mean_curve(((1.0, 3.0), (3.0, math.nan), (2.0,)))[:1] == [(2.0, 1.0, 3.0)]
    assert mean_curve(((1.0, 3.0), (3.0, math.nan)))[1] == (3.0, 3.0, 3.0)
