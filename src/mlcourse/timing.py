"""Wall-clock timing for the course's speed comparisons (loop vs broadcasting, ours vs a peer)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def time_call(fn: Callable[..., Any], *args: Any, repeat: int = 5, number: int = 1,
              **kwargs: Any) -> float:
    """Best wall-clock time of one call of ``fn(*args, **kwargs)``.

    Parameters
    ----------
    fn : callable
        The function to time.
    *args, **kwargs
        Passed to ``fn`` on every call.
    repeat : int, default 5
        How many measurements to take; the minimum is returned (the least disturbed by other load).
    number : int, default 1
        Calls per measurement; the measurement is divided by it.

    Returns
    -------
    float
        Seconds per call, the best of ``repeat`` measurements.
    """
    if repeat < 1 or number < 1:
        raise ValueError(f"repeat and number must be >= 1, got repeat={repeat}, number={number}")
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args, **kwargs)
        best = min(best, (time.perf_counter() - start) / number)
    return best


def speedup(slow: Callable[..., Any], fast: Callable[..., Any], *args: Any, repeat: int = 3,
            **kwargs: Any) -> tuple[float, float, float]:
    """Time two implementations of the same function on the same arguments, in the same process.

    Returns
    -------
    (slow_seconds, fast_seconds, ratio)
        Best time of each and ``slow_seconds / fast_seconds``.
    """
    t_slow = time_call(slow, *args, repeat=repeat, **kwargs)
    t_fast = time_call(fast, *args, repeat=repeat, **kwargs)
    return t_slow, t_fast, t_slow / t_fast
