"""Old Faithful geyser data (shipped CSV) and its known maximum-likelihood two-component Gaussian mixture."""

from __future__ import annotations

import types
from importlib import resources

import numpy as np

__all__ = ["OLD_FAITHFUL_MLE", "load_old_faithful"]


def load_old_faithful() -> np.ndarray:
    """The Old Faithful eruptions data: 272 observations of (eruption time, waiting time), both in minutes.

    Returns
    -------
    ndarray (272, 2) of float64
        Column 0: eruption duration [min]; column 1: waiting time to the next eruption [min].
        A fresh array on every call.

    Notes
    -----
    R's ``datasets::faithful`` (Härdle 1991), shipped as ``mlcourse/datasets/data/faithful.csv``; provenance
    and checksum in ``mlcourse/datasets/data/README.md``.
    """
    source = resources.files("mlcourse.datasets").joinpath("data", "faithful.csv")
    with source.open("r", encoding="utf-8") as handle:
        return np.loadtxt(handle, delimiter=",", skiprows=1, dtype=np.float64)


def _frozen(values: list) -> np.ndarray:
    arr = np.array(values, dtype=np.float64)
    arr.flags.writeable = False
    return arr


_WEIGHTS = _frozen([0.35587285710570765, 0.6441271428942924])
_MEANS = _frozen([[2.036388454619958, 54.47851637696829],
                  [4.28966197309599, 79.96811517385608]])
_COVARIANCES = _frozen([[[0.06916767255931071, 0.4351676244435007],
                         [0.4351676244435007, 33.69728207230224]],
                        [[0.16996843574709536, 0.9406093192702524],
                         [0.9406093192702524, 36.04621131755319]]])
_LOG_LIKELIHOOD = -1130.2639601847416

#: The maximum-likelihood 2-component full-covariance Gaussian mixture of :func:`load_old_faithful`
#: (unregularised: ``reg_covar=0``), components ordered by eruption time (short eruptions first).
#: Read-only mapping with read-only arrays. Keys: ``weights`` (2,), ``means`` (2, 2), ``covariances``
#: (2, 2, 2) and their HW2 names ``pi``, ``mu``, ``Sigma`` (the same arrays); ``log_likelihood`` and its
#: HW2 name ``loglik`` (total over the 272 points); ``mean_log_likelihood`` (per point, sklearn's
#: ``score``). With the default ``reg_covar=1e-6`` a fit lands within ~2e-5 (relative) of these
#: parameters. How it was computed: ``mlcourse/datasets/data/README.md``.
OLD_FAITHFUL_MLE = types.MappingProxyType({
    "weights": _WEIGHTS,
    "means": _MEANS,
    "covariances": _COVARIANCES,
    "pi": _WEIGHTS,
    "mu": _MEANS,
    "Sigma": _COVARIANCES,
    "log_likelihood": _LOG_LIKELIHOOD,
    "loglik": _LOG_LIKELIHOOD,
    "mean_log_likelihood": _LOG_LIKELIHOOD / 272,
})
