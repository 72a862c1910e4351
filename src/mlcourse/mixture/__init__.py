"""Gaussian mixtures fitted by EM, k-means and their building blocks: the course's reference implementation.

HW2 functions (full covariances; shapes ``X`` (N, D), ``pi`` (K,), ``mu`` (K, D), ``Sigma`` (K, D, D),
``gamma`` (N, K)):

=========================  ======================================================================
loop flavour               ``gaussian_logpdf_loop``, ``e_step_loop``, ``m_step_loop`` (:mod:`.loops`)
broadcasting flavour       ``gaussian_logpdf``, ``log_joint`` (:mod:`.gaussian`), ``e_step``,
(the reference)            ``m_step`` (:mod:`.em`)
log-space reductions       ``logsumexp``, ``softmax`` (:mod:`.stats`)
top level                  ``fit_gmm``, ``quantize_image`` (:mod:`.homework`), ``sample_gmm``
=========================  ======================================================================

Each formula has one home: the log-density and its log-determinant in :mod:`.gaussian`, the log-sum-exp in
:mod:`.stats`, the E-step, the M-step and the EM driver (``run_em``) in :mod:`.em`. The loop flavour and the
estimator's cache-blocked kernels (:mod:`._blocked`, tested equal to the reference) use those helpers.

Estimators: :class:`GaussianMixture` (scikit-learn's interface, four covariance types) and :class:`KMeans` /
:func:`kmeans`; :func:`silhouette_score`. Covariance-type-aware building blocks (scikit-learn's
parameterisation): :func:`estimate_log_gaussian_prob`, :func:`compute_precision_cholesky`,
:func:`estimate_gaussian_parameters` (:mod:`.estimator`), :func:`compute_log_det_cholesky`.
"""

from mlcourse.mixture._validation import COVARIANCE_TYPES
from mlcourse.mixture.em import e_step, m_step
from mlcourse.mixture.estimator import (
    ConvergenceWarning,
    GaussianMixture,
    NotFittedError,
    estimate_gaussian_parameters,
    estimate_log_gaussian_prob,
)
from mlcourse.mixture.gaussian import (
    compute_log_det_cholesky,
    compute_precision_cholesky,
    gaussian_logpdf,
    log_joint,
    precisions_cholesky_from_precisions,
)
from mlcourse.mixture.homework import fit_gmm, quantize_image
from mlcourse.mixture.kmeans import KMeans, kmeans, kmeans_plusplus
from mlcourse.mixture.loops import e_step_loop, gaussian_logpdf_loop, m_step_loop
from mlcourse.mixture.metrics import silhouette_samples, silhouette_score
from mlcourse.mixture.sampling import sample_gmm
from mlcourse.mixture.stats import logsumexp, softmax

__all__ = [
    "COVARIANCE_TYPES",
    "ConvergenceWarning",
    "GaussianMixture",
    "KMeans",
    "NotFittedError",
    "compute_log_det_cholesky",
    "compute_precision_cholesky",
    "e_step",
    "e_step_loop",
    "estimate_gaussian_parameters",
    "estimate_log_gaussian_prob",
    "fit_gmm",
    "gaussian_logpdf",
    "gaussian_logpdf_loop",
    "kmeans",
    "kmeans_plusplus",
    "log_joint",
    "logsumexp",
    "m_step",
    "m_step_loop",
    "precisions_cholesky_from_precisions",
    "quantize_image",
    "sample_gmm",
    "silhouette_samples",
    "silhouette_score",
    "softmax",
]
