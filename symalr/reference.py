"""NumPy reference stepper: executes any :class:`~symalr.spec.OptimizerSpec` on arrays.

It is the oracle every backend is tested against. It walks the SymPy tree itself (no code
generation, no ``lambdify``: each expression becomes nested closures, once), computing in the requested dtype (float32 by default) with IEEE
semantics: ``sqrt``/``pow`` give NaN where the math is undefined, ``divide_no_nan`` gives 0 where
the divisor is 0, and nothing is clamped. Floating-point warnings are silenced, never raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy

from .expr import GRAD, STEP, WEIGHT
from .ops import BY_NODE, OPERATORS
from .spec import OptimizerSpec


class Evaluator:
    """Evaluate SymPy expressions over NumPy arrays in one dtype.

    ``env`` maps symbol names to arrays or scalars. Products with negative integer powers are
    computed as divisions (``a / b``), as the printers emit them.

    Each expression is compiled once, on first use, into nested Python closures that perform
    exactly the NumPy operations of a walk of its tree, in the same order (so the results are
    bit for bit those of walking it); a stepper that evaluates the same few expressions
    thousands of times pays the tree walk once.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        self._compiled: dict[sympy.Expr, object] = {}

    def const(self, value) -> np.ndarray:
        return np.asarray(value, dtype=self.dtype)

    def __call__(self, e: sympy.Expr, env: Mapping[str, np.ndarray]) -> np.ndarray:
        fn = self._compiled.get(e)
        if fn is None:
            fn = self._compiled[e] = self._compile(e)
        with np.errstate(all="ignore"):
            return fn(env)

    def _compile(self, e):  # noqa: C901 - one branch per node kind, as in the printers
        d = self.dtype
        if e.is_Symbol:
            name = e.name
            return lambda env: np.asarray(env[name], dtype=d)
        if e.is_Number or e in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            value = self.const(float(e) if e is not sympy.zoo else np.nan)
            return lambda env: value
        if e.is_Add:
            terms = [self._compile(a) for a in e.args]

            def add(env):
                out = terms[0](env)
                for t in terms[1:]:
                    out = out + t(env)
                return out.astype(d, copy=False)
            return add
        if e.is_Mul:
            num, den = [], []
            for a in e.args:
                if a.is_Pow and a.exp.is_Number and a.exp.is_negative:
                    den.append(a.base if a.exp == -1 else a.base ** (-a.exp))
                elif a.is_Rational and not a.is_Integer and a.p == 1:
                    den.append(sympy.Integer(a.q))
                else:
                    num.append(a)
            nums = [self._compile(a) for a in num]
            dens = [self._compile(a) for a in den]
            one = self.const(1.0)

            def mul(env):
                out = nums[0](env) if nums else one
                for a in nums[1:]:
                    out = out * a(env)
                for a in dens:
                    out = out / a(env)
                return np.asarray(out, dtype=d)
            return mul
        if e.is_Pow:
            base, exp = e.args
            b = self._compile(base)
            one = self.const(1.0)
            sqrt, square = OPERATORS["sqrt"].reference, OPERATORS["square"].reference
            if exp == sympy.S.Half:
                return lambda env: np.asarray(sqrt(b(env)), dtype=d)
            if exp == -sympy.S.Half:
                return lambda env: (one / sqrt(b(env))).astype(d)
            if exp == 2:
                return lambda env: np.asarray(square(b(env)), dtype=d)
            if exp == -1:
                return lambda env: (one / b(env)).astype(d)
            x = self._compile(exp)
            power = OPERATORS["pow"].reference
            return lambda env: np.asarray(power(b(env), x(env)), dtype=d)
        op = BY_NODE.get(type(e).__name__)
        if op is not None:
            args = [self._compile(x) for x in e.args]
            ref = op.reference
            return lambda env: np.asarray(
                ref(*[np.asarray(a(env), dtype=d) for a in args]), dtype=d)
        raise TypeError(f"reference stepper: unsupported node {type(e).__name__}: {e}")


class ReferenceStepper:
    """Steps one tensor ``w`` with a spec, holding its state like an optimizer would.

    >>> st = ReferenceStepper(spec, w0)          # doctest: +SKIP
    >>> w1 = st.step(g1); w2 = st.step(g2)        # doctest: +SKIP
    """

    def __init__(
        self,
        spec: OptimizerSpec,
        w: np.ndarray,
        hyper: Mapping[str, float] | None = None,
        lr: float | None = None,
        dtype=np.float32,
    ):
        self.spec = spec
        self.ev = Evaluator(dtype)
        self.dtype = np.dtype(dtype)
        self.w = np.array(w, dtype=self.dtype)
        self.hyper = {**spec.defaults, **(hyper or {})}
        #: multiplier of delta for specs without an ``lr`` hyperparameter (the group lr)
        self.lr_mult = 1.0 if (spec.has_lr or lr is None) else lr
        if spec.has_lr and lr is not None:
            self.hyper["lr"] = lr
        self.state = {s: np.zeros_like(self.w) for s in spec.states}
        self.t = 0

    def step(self, g: np.ndarray) -> np.ndarray:
        """Apply one update with gradient ``g``; returns the new weights (also kept in ``.w``)."""
        self.t += 1
        env: dict[str, np.ndarray | float] = {
            **{k: self.ev.const(v) for k, v in self.hyper.items()},
            **self.state,
            GRAD: np.asarray(g, dtype=self.dtype),
            WEIGHT: self.w,
            STEP: self.ev.const(self.t),
        }
        for s, e in self.spec.updates:
            new = np.broadcast_to(self.ev(e, env), self.w.shape).astype(self.dtype)
            self.state[s] = new
            env[s] = new
        delta = np.broadcast_to(self.ev(self.spec.delta, env), self.w.shape).astype(self.dtype)
        if self.lr_mult != 1.0:
            with np.errstate(all="ignore"):
                delta = (delta * self.ev.const(self.lr_mult)).astype(self.dtype)
        with np.errstate(all="ignore"):
            self.w = (self.w + delta).astype(self.dtype)
        return self.w


def run_reference(
    spec: OptimizerSpec,
    w0: np.ndarray,
    grads: Sequence[np.ndarray],
    hyper: Mapping[str, float] | None = None,
    lr: float | None = None,
    dtype=np.float32,
) -> list[np.ndarray]:
    """Weights after each of the given gradient steps (a list of copies)."""
    st = ReferenceStepper(spec, w0, hyper=hyper, lr=lr, dtype=dtype)
    return [st.step(g).copy() for g in grads]
