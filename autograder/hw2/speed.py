"""Part 3's rule "no Python loop over the points", judged by speed against a yardstick out of students' reach.

A function passes when it is at least ``Problem.speedup`` times faster than the reference's own Python loop
over the points (:mod:`mlcourse.mixture.loops`), on problems of :data:`N` points:

- every timed call gets fresh random inputs (drawn from OS entropy, so no code can have seen or precomputed
  them), and every timed result is checked against :mod:`mlcourse.mixture` to :data:`TIMED_RTOL`: a
  memoised, constant, partial or wrong answer makes the speed not count, while a slip far below that
  tolerance (a forgotten ``reg=1e-6``, which its own cell already costs) does not take the speed share too;
- the yardstick runs here, in the trusted process, in the same rounds as the student's calls (loop, student,
  loop, student, ...), and is measured in this thread's CPU time, which no other process (and no thread
  the student's code left running) can inflate; the student's calls are measured in CPU time too
  (``student.time_calls``: the sandboxed worker's, read by the trusted side from the kernel's accounting; the
  whole process's in-process), around the call alone, which no code can make shorter than its work, and
  which the load of the machine does not lengthen;
- the fastest round of each is compared; a ratio close to the bar is measured again, a clear one is not;
- the yardstick runs on :data:`N_LOOP` = N / 8 points and its time is scaled by N / N_LOOP: a loop over the
  points costs the same per point whatever N (measured: 21.3 ms at N = 8000 vs 8 x 2.8 ms at 1000 for
  ``gaussian_logpdf_loop``, 78.0 vs 8 x 9.8 ms for ``m_step_loop``; the scaled time is 0-6% larger, far
  inside every bar's margin), and one eighth of it is what each submission pays (about 0.5 s less per
  submission than timing the loop on all N points).

Each bar sits between the slowest correct broadcast version and the fastest loop over the points measured
(ratio = reference loop time / student time, best of 3 rounds, on the 2-core development machine while other
work ran; "sandbox": the same notebooks in the grading engine's worker, whose per-call overhead of about
0.3-0.5 ms lowers the ratios of fast functions):

=============== ==== =================== =================== ==============================================
function        bar  correct             correct_alternative loops over the points (fixtures; other kinds)
                     in-process/sandbox  in-process/sandbox
=============== ==== =================== =================== ==============================================
gaussian_logpdf 6x   100-150x / 32-51x   50-54x / 19-27x     0.4-0.5x; 1.0-1.7x (d @ inv(Sigma) @ d per point)
log_joint       6x   95-150x / 51-68x    51-59x / 25-35x     0.4-0.8x (a loop vectorised over K)
e_step          5x   80-150x / 38-78x    24-37x / 16-27x     0.1-0.2x, 1.0-1.1x (log_joint loops);
                                                             1.7-2.1x (a loop in the normalisation only)
m_step          10x  100-185x / 53-89x   155-250x / 81-110x  0.8-1.7x (vectorised over K); 2.6-3.7x (a loop
                                                             for Sigma only)
=============== ==== =================== =================== ==============================================

``python -m autograder.hw2.speed NOTEBOOK... [--sandbox]`` prints the ratios of notebooks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder import harness
from autograder.hw2.checks import mstep_result, responsibilities
from autograder.hw2.common import (
    expect_close,
    expect_correct,
    random_gamma,
    random_gmm,
    random_points,
    unpack,
)
from mlcourse import mixture as ref
from mlcourse.mixture import loops

#: Problem size: N points in D dimensions, K components (a Python loop over 8000 points is clearly slow).
N, D, K = 8000, 3, 2
#: Points the yardstick loops over (its time is scaled by N / N_LOOP).
N_LOOP = N // 8
#: Rounds per measurement (each: one reference loop call, one student call), measurements at most.
ROUNDS, ATTEMPTS = 3, 3
#: How close a timed result must be to the reference for its speed to count (relative and absolute, as in
#: ``np.allclose``): far looser than the value cells' 1e-8, so that the speed share judges the loop and a
#: value slip costs only the cell of the value it breaks (a forgotten ``reg=1e-6`` moves a covariance entry
#: of size ~16 by 6e-8 of itself); far tighter than anything a constant, memoised or partial answer achieves
#: on fresh random inputs.
TIMED_RTOL = TIMED_ATOL = 1e-5


@dataclass(frozen=True)
class Problem:
    """One function's timing problem."""

    name: str  #: the student's function
    draw: Callable[[np.random.Generator, int], tuple]  #: fresh arguments with the given number of points
    loop: Callable[..., Any]  #: the reference's loop flavour of the same computation: the yardstick
    check: Callable[[tuple, Any], None]  #: raises AssertionError when the result is wrong for the arguments
    speedup: float  #: the bar: at least this many times faster than ``loop``
    hint: str = ""  #: added to the failure message

    @property
    def size(self) -> str:
        return f"N={N} points in {D}-D" + ("" if self.name == "gaussian_logpdf" else f", K={K} components")


def _logpdf_args(gen: np.random.Generator, n: int) -> tuple:
    _, mu, Sigma = random_gmm(gen, 1, D)
    return random_points(gen, n, D), mu[0], Sigma[0]


def _mixture_args(gen: np.random.Generator, n: int) -> tuple:
    pi, mu, Sigma = random_gmm(gen, K, D)
    return random_points(gen, n, D), pi, mu, Sigma


def _mstep_args(gen: np.random.Generator, n: int) -> tuple:
    return random_points(gen, n, D), random_gamma(gen, n, K)


def log_joint_loop(X: np.ndarray, pi: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """The loop flavour of ``log_joint``: ``log pi_k`` plus the reference's loop log-density, by component."""
    return np.stack([np.log(pi[k]) + loops.gaussian_logpdf_loop(X, mu[k], Sigma[k]) for k in range(len(pi))],
                    axis=1)


_TOL = {"rtol": TIMED_RTOL, "atol": TIMED_ATOL}


def _check_logpdf(args: tuple, result: Any) -> None:
    expect_correct(result, (N,), ref.gaussian_logpdf(*args), "gaussian_logpdf", **_TOL)


def _check_log_joint(args: tuple, result: Any) -> None:
    expect_correct(result, (N, K), ref.log_joint(*args), "log_joint", **_TOL)


def _check_e_step(args: tuple, result: Any) -> None:
    gamma_want, loglik_want = ref.e_step(*args)
    expect_close(responsibilities(result, "e_step", N, K), gamma_want, "gamma from e_step", **_TOL)
    loglik = unpack(result, 2, "e_step")[1]
    assert isinstance(loglik, (int, float)) and np.isclose(loglik, loglik_want, **_TOL), \
        "the log-likelihood from e_step is wrong"


def _check_m_step(args: tuple, result: Any) -> None:
    got = mstep_result(result, "m_step", K, D)
    for label, mine, want in zip(("pi", "mu", "Sigma"), got, ref.m_step(*args), strict=True):
        expect_close(mine, want, f"{label} from m_step", **_TOL)


PROBLEMS: dict[str, Problem] = {p.name: p for p in (
    Problem("gaussian_logpdf", _logpdf_args, loops.gaussian_logpdf_loop, _check_logpdf, 6.0),
    Problem("log_joint", _mixture_args, log_joint_loop, _check_log_joint, 6.0,
            " (and none in the functions it calls)"),
    Problem("e_step", _mixture_args, loops.e_step_loop, _check_e_step, 5.0,
            " (and none in log_joint, logsumexp or the other functions it calls)"),
    Problem("m_step", _mstep_args, loops.m_step_loop, _check_m_step, 10.0),
)}


def speed_ratio(student: Any, problem: Problem, rounds: int = ROUNDS) -> float:
    """Reference loop time (on :data:`N_LOOP` points, scaled to :data:`N`) / the student's time on N points,
    the fastest of ``rounds`` interleaved rounds of each.

    Raises
    ------
    AssertionError
        A timed result is wrong (then the speed does not count).
    StudentError
        The student's function raised (also :class:`~autograder.plain.StudentMutation`) or timed out.
    """
    gen = np.random.default_rng()  # OS entropy: inputs nobody can have seen before
    loop_times, student_times = [], []
    for _ in range(rounds):
        args = problem.draw(gen, N_LOOP)
        start = time.thread_time()
        problem.loop(*args)
        loop_times.append((time.thread_time() - start) * N / N_LOOP)
        args = problem.draw(gen, N)
        [(seconds, result)] = harness.time_calls(student, problem.name, [args])
        try:
            problem.check(args, result)
        except AssertionError as exc:
            raise AssertionError(f"{problem.name} gives wrong results on the timing problems "
                                 f"({problem.size}), so its speed does not count: {exc}") from None
        student_times.append(seconds)
    return min(loop_times) / max(min(student_times), 1e-9)


def assert_no_loop_over_points(student: Any, name: str) -> None:
    """The student's ``name`` is at least ``speedup`` times faster than a Python loop over the points."""
    problem = PROBLEMS[name]
    best = 0.0
    for _ in range(ATTEMPTS):
        best = max(best, speed_ratio(student, problem))
        if best >= problem.speedup or best < problem.speedup / 3:  # clear either way: measured enough
            break
    assert best >= problem.speedup, \
        (f"{name} ran only {best:.1f}x as fast as a Python loop over the points ({problem.size}); without a "
         f"loop over the points it is at least {problem.speedup:.0f}x faster: broadcast over all points at "
         f"once (a loop over the components is fine){problem.hint}")


def main(argv: list[str] | None = None) -> int:
    """Print the speed ratios of the Part 3 functions of notebooks (``--sandbox``: in the grading engine)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.hw2.speed", description=main.__doc__)
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--sandbox", action="store_true", help="load each notebook in a sandboxed worker")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args(argv)
    for path in options.notebooks:
        if options.sandbox:
            from autograder.engine.proxy import load_sandboxed

            student = load_sandboxed(path)
        else:
            from autograder.loader import load_student

            student = load_student(path)
        cells = []
        for name, problem in PROBLEMS.items():
            try:
                cells.append(f"{name} {speed_ratio(student, problem, options.rounds):7.1f}x")
            except Exception as exc:  # a wrong or failing function: say why, go on with the others
                cells.append(f"{name} {type(exc).__name__}")
        print(f"{path}: " + "  ".join(cells))
        if options.sandbox:
            student.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
