"""Automatic differentiation: ``mlcourse.autodiff`` side by side with autograd, in one run.

1. Reverse mode on a vectorised loss: the gradient of the logistic-regression loss with ``N = 100_000``
   points and ``D = 100`` features (seeded), written two ways -- with ``np.logaddexp``,
   ``mean(logaddexp(0, X w) - y * (X w))`` (labels 0/1), and as a student would write it,
   ``mean(log(1 + exp(-y * (X w))))`` (labels -1/+1) -- by ``mlcourse.autodiff.grad`` and by
   ``autograd.grad``, next to the plain NumPy evaluation of the loss (the "cheap gradient principle": a
   gradient should cost a small multiple of one evaluation).
   Targets: ours / autograd <= 1.0 and ours / NumPy evaluation <= 5, for both forms.
2. Forward mode on scalar Python code: a loop of elementary operations on a float, run on plain floats
   (``math``), on a ``Dual`` (``derivative``), and through autograd's ``grad``.

Timings are the best of several interleaved rounds (the candidates take turns, so a burst of load from
other processes hits all of them alike).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np

import mlcourse.autodiff as ad

N, D = 100_000, 100
SEED = 0
ROUNDS = 40
SCALAR_STEPS = 25


def logistic_loss(w: Any, X: np.ndarray, y: np.ndarray, xp: Any = np) -> Any:
    """Mean logistic loss (labels 0/1), written once for NumPy (our tracers) and ``autograd.numpy``."""
    z = X @ w
    return xp.mean(xp.logaddexp(0.0, z) - y * z)


def logistic_loss_naive(w: Any, X: np.ndarray, y_pm: np.ndarray, xp: Any = np) -> Any:
    """The same loss as a student writes it, labels -1/+1: ``mean(log(1 + exp(-y * (X w))))``."""
    return xp.mean(xp.log(1 + xp.exp(-y_pm * (X @ w))))


def logistic_data(n: int = N, d: int = D, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded features, labels drawn from a logistic model, and a starting weight vector."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d) / math.sqrt(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ w_true))).astype(np.float64)
    w = 0.1 * rng.standard_normal(d)
    return X, y, w


def scalar_code(x: Any, lib: Any) -> Any:
    """Scalar Python code: a loop of arithmetic and elementary functions (``lib`` provides sin, exp, ...)."""
    y = x
    for _ in range(SCALAR_STEPS):
        y = lib.sin(y) * 0.5 + x * y / (1.0 + y * y) - lib.exp(-y * y) * 0.1
    return y


def best_of(candidates: dict[str, Callable[[], Any]], rounds: int = ROUNDS,
            number: int = 1) -> dict[str, tuple[float, float]]:
    """(best, median) wall time per call of each candidate over interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for fn in candidates.values():  # warm up (imports, caches, allocator)
        fn()
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - start) / number)
    return {name: (min(ts), float(np.median(ts))) for name, ts in times.items()}


def _verdict(ratio: float, target: float) -> str:
    return f"{'met' if ratio <= target else 'MISSED'} (target <= {target:g})"


def reverse_mode(loss: Callable[..., Any], w: np.ndarray, X: np.ndarray, y: np.ndarray
                 ) -> tuple[dict[str, float], dict[str, float], float, float]:
    """Best and median times of the NumPy evaluation, our ``grad`` and autograd's, and their agreement."""
    ours = ad.grad(lambda v: loss(v, X, y))
    theirs = autograd.grad(lambda v: loss(v, X, y, anp))
    g_ours, g_theirs = ours(w), theirs(w)
    rel_diff = float(np.max(np.abs(g_ours - g_theirs)) / np.max(np.abs(g_theirs)))
    value_diff = abs(float(ad.value_and_grad(lambda v: loss(v, X, y))(w)[0]) - float(loss(w, X, y)))
    timings = best_of({"numpy": lambda: loss(w, X, y), "ours": lambda: ours(w),
                       "autograd": lambda: theirs(w)})
    t = {name: best for name, (best, _) in timings.items()}
    med = {name: median for name, (_, median) in timings.items()}
    return t, med, rel_diff, value_diff


def reverse_rows(title: str, t: dict[str, float], med: dict[str, float], rel_diff: float,
                 value_diff: float) -> list[str]:
    """The table of one form of the loss."""
    vs_autograd, vs_numpy = t["ours"] / t["autograd"], t["ours"] / t["numpy"]
    agree = "OK" if rel_diff < 1e-10 and value_diff < 1e-12 else "FAILED"
    return [
        f"### {title}",
        "",
        "| what | best [ms] | median [ms] | best, ratio to evaluation |",
        "|---|---:|---:|---:|",
        f"| plain NumPy loss evaluation | {1e3 * t['numpy']:.2f} | {1e3 * med['numpy']:.2f} | 1.00 |",
        f"| autograd `grad` | {1e3 * t['autograd']:.2f} | {1e3 * med['autograd']:.2f} | "
        f"{t['autograd'] / t['numpy']:.2f} |",
        f"| mlcourse.autodiff `grad` | {1e3 * t['ours']:.2f} | {1e3 * med['ours']:.2f} | {vs_numpy:.2f} |",
        "",
        f"- ours / autograd = **{vs_autograd:.2f}** — {_verdict(vs_autograd, 1.0)}; "
        f"medians: {med['ours'] / med['autograd']:.2f}",
        f"- ours / NumPy evaluation = **{vs_numpy:.2f}** — {_verdict(vs_numpy, 5.0)}",
        f"- gradient agreement {agree}: max |ours − autograd| / max |autograd| = {rel_diff:.1e}; "
        f"loss values differ by {value_diff:.1e}",
        "",
    ]


def main(out_dir: Path) -> Path:
    """Run the benchmark and write ``out_dir/autodiff.md``; returns the path."""
    X, y, w = logistic_data()
    y_pm = 2.0 * y - 1.0
    logaddexp_form = reverse_mode(logistic_loss, w, X, y)
    naive_form = reverse_mode(logistic_loss_naive, w, X, y_pm)

    x0 = 0.7
    d_ours = ad.derivative(lambda x: scalar_code(x, ad), x0)
    d_theirs = float(autograd.grad(lambda x: scalar_code(x, anp))(x0))
    d_central = ad.central_difference(lambda x: scalar_code(x, math), x0)
    scalar = best_of({"float": lambda: scalar_code(x0, math),
                      "dual": lambda: ad.derivative(lambda x: scalar_code(x, ad), x0),
                      "tape": lambda: ad.grad(lambda x: scalar_code(x, ad))(x0),
                      "autograd": lambda: autograd.grad(lambda x: scalar_code(x, anp))(x0)},
                     rounds=ROUNDS // 2, number=10)
    s = {name: best for name, (best, _) in scalar.items()}
    n_ops = 12 * SCALAR_STEPS  # sin, exp, and ten arithmetic operations per step

    lines = [
        "# Automatic differentiation: mlcourse.autodiff vs autograd",
        "",
        f"Python {platform.python_version()}, NumPy {np.__version__}, autograd {version('autograd')}. "
        f"Best (and median) of {ROUNDS} interleaved rounds on a shared machine.",
        "",
        f"## Reverse mode: gradient of the logistic-regression loss (N = {N:,}, D = {D}, seed {SEED})",
        "",
        *reverse_rows("`mean(logaddexp(0, X @ w) - y * (X @ w))`", *logaddexp_form),
        *reverse_rows("`mean(log(1 + exp(-y * (X @ w))))`", *naive_form),
        "Where the time goes: the forward `X @ w` and the backward `g @ X` (matrix-vector products) dominate "
        "both tools. Our reverse rule of `matmul` computes the vector-matrix product `g @ X` with "
        "`np.einsum`, which streams through the row-major `X` once, where BLAS's transposed matrix-vector "
        "product (autograd's) is several times slower. Our `logaddexp` primitive is evaluated as "
        "`max(x, y) + log1p(exp(-|x - y|))` with NumPy's vectorised `exp`/`log1p`, faster than "
        "`np.logaddexp` (which the plain evaluation and autograd call); the tape adds no copies for "
        "broadcast cotangents and un-broadcasts only when shapes differ.",
        "",
        f"## Forward mode: scalar Python code ({SCALAR_STEPS} loop steps, about {n_ops} operations)",
        "",
        "| what | best [µs] | ratio to plain floats |",
        "|---|---:|---:|",
        f"| plain floats (`math`) | {1e6 * s['float']:.1f} | 1.0 |",
        f"| `derivative` (one `Dual` sweep) | {1e6 * s['dual']:.1f} | {s['dual'] / s['float']:.1f} |",
        f"| `grad` (tape, reverse mode) | {1e6 * s['tape']:.1f} | {s['tape'] / s['float']:.1f} |",
        f"| autograd `grad` | {1e6 * s['autograd']:.1f} | {s['autograd'] / s['float']:.1f} |",
        "",
        "- Scalar fast path: on Python floats a `Dual` evaluates the primitive's own registered linear rule "
        "on floats (no rule is restated for scalars); it skips the array bookkeeping of the general path.",
        f"- Dual overhead vs plain floats: **{s['dual'] / s['float']:.0f}×** "
        f"(about {1e9 * (s['dual'] - s['float']) / n_ops:.0f} ns per operation); "
        f"ours (Dual) / autograd = {s['dual'] / s['autograd']:.2f}",
        f"- derivative agreement: |Dual − autograd| = {abs(d_ours - d_theirs):.1e}, "
        f"|Dual − central difference| = {abs(d_ours - d_central):.1e}",
        "",
    ]
    path = Path(out_dir) / "autodiff.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
