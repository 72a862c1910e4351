"""``GaussianMixture``: EM for Gaussian mixtures behind scikit-learn's estimator interface, and the
covariance-type-aware building blocks it is made of (``estimate_log_gaussian_prob``,
``estimate_gaussian_parameters``, scikit-learn's parameterisation).

The formulas are those of the reference (:mod:`~mlcourse.mixture.gaussian`, :mod:`~mlcourse.mixture.em`),
evaluated by the cache-blocked kernels of :mod:`~mlcourse.mixture._blocked` (tested equal to the reference
to 1e-10); the iterations are :func:`~mlcourse.mixture.em.run_em`, the driver ``fit_gmm`` uses too, in
scikit-learn's order, so given the same initial parameters both libraries fit the same model (tested to 1e-8).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from mlcourse.mixture import _blocked
from mlcourse.mixture._blocked import components
from mlcourse.mixture._validation import (
    check_covariance_type,
    check_covariances,
    check_data,
    check_finite,
    check_int,
    check_means,
    check_n_components,
    check_nonnegative,
    check_random_state,
    check_weights,
    covariance_shape,
)
from mlcourse.mixture.em import run_em
from mlcourse.mixture.gaussian import (
    covariances_from_precisions_cholesky,
    expand_to_full,
    factorize,
    precisions_cholesky_from_precisions,
)
from mlcourse.mixture.kmeans import KMeans, kmeans_plusplus
from mlcourse.mixture.sampling import sample_gmm
from mlcourse.mixture.stats import logsumexp

__all__ = ["ConvergenceWarning", "GaussianMixture", "NotFittedError", "estimate_gaussian_parameters",
           "estimate_log_gaussian_prob", "initial_responsibilities"]

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def estimate_log_gaussian_prob(X: Any, means: Any, precisions_cholesky: Any, covariance_type: str
                               ) -> np.ndarray:
    """``log N(x_n | mu_k, Sigma_k)`` for every sample and component, any covariance type.

    Parameters
    ----------
    X : array_like (N, D)
    means : array_like (K, D)
    precisions_cholesky : array_like
        Precision Cholesky factors in ``covariance_type``'s shape (see
        :func:`~mlcourse.mixture.compute_precision_cholesky`).
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray (N, K)
    """
    covariance_type = check_covariance_type(covariance_type)
    X = check_data(X)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means must have shape (K, D), got shape {means.shape}")
    means = check_means(means, means.shape[0], X.shape[1], name="means")
    prec = np.asarray(precisions_cholesky, dtype=np.float64)
    expected = covariance_shape(covariance_type, means.shape[0], X.shape[1])
    if prec.shape != expected:
        raise ValueError(f"precisions_cholesky must have shape {expected} for covariance_type="
                         f"{covariance_type!r}, got shape {prec.shape}")
    check_finite(prec, "precisions_cholesky")
    design = _blocked.Design(X)
    comps = components(means, prec, covariance_type, np.ones(means.shape[0]), design.shift)
    return _blocked.log_joint(design, comps)


def _fit_parameters(design: _blocked.Design, resp: np.ndarray, reg_covar: float, covariance_type: str
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unchecked M-step on a :class:`~mlcourse.mixture._blocked.Design`: (nk, means, covariances)."""
    S, comps = _blocked.statistics_from_responsibilities(design, resp)
    return _blocked.parameters_from_statistics(S, comps, reg_covar, covariance_type, design.shift)


def estimate_gaussian_parameters(X: Any, resp: Any, reg_covar: float, covariance_type: str
                                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted maximum-likelihood Gaussian parameters for any covariance type (scikit-learn's M-step).

    Parameters
    ----------
    X : array_like (N, D)
    resp : array_like (N, K)
        Non-negative weights (responsibilities; rows need not sum to one, e.g. a one-hot initialisation).
    reg_covar : float
        Added to every variance (the diagonal of each covariance).
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    nk : ndarray (K,)
        ``sum_n resp_nk`` plus ``10 eps`` (so an empty component gives finite parameters, as in sklearn).
    means : ndarray (K, D)
    covariances : ndarray, covariance_type's shape
    """
    covariance_type = check_covariance_type(covariance_type)
    X = check_data(X)
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != X.shape[0] or resp.shape[1] == 0:
        raise ValueError(f"resp must have shape (N, K) with N={X.shape[0]}, got shape {resp.shape}")
    check_finite(resp, "resp")
    if (resp < 0).any():
        raise ValueError("resp must be non-negative")
    reg_covar = check_nonnegative(reg_covar, "reg_covar")
    return _fit_parameters(_blocked.Design(X), np.ascontiguousarray(resp), reg_covar, covariance_type)


def initial_responsibilities(X: np.ndarray, n_components: int, init_params: str, rng: np.random.Generator
                             ) -> np.ndarray:
    """Initial responsibilities (N, K) for ``init_params`` (see :class:`GaussianMixture`)."""
    N, K = X.shape[0], n_components
    resp = np.zeros((N, K))
    if init_params == "kmeans":
        labels = KMeans(K, n_init=1, random_state=rng).fit(X).labels_
        resp[np.arange(N), labels] = 1.0
    elif init_params == "k-means++":
        _, indices = kmeans_plusplus(X, K, random_state=rng)
        resp[indices, np.arange(K)] = 1.0
    elif init_params == "random":
        resp = rng.uniform(size=(N, K))
        resp /= resp.sum(axis=1, keepdims=True)
    else:  # random_from_data
        resp[rng.choice(N, size=K, replace=False), np.arange(K)] = 1.0
    return resp


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood gain fell below ``tol``."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class _State:
    """Parameters during a fit: covariances in ``covariance_type``'s shape plus both Cholesky factors."""

    __slots__ = ("cov_chol", "covariances", "means", "prec_chol", "weights")

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray,
                 prec_chol: np.ndarray, cov_chol: np.ndarray) -> None:
        self.weights, self.means, self.covariances = weights, means, covariances
        self.prec_chol, self.cov_chol = prec_chol, cov_chol

    def snapshot(self, covariance_type: str, iteration: int) -> dict[str, Any]:
        K, D = self.means.shape
        return {"iteration": iteration, "weights": self.weights.copy(), "means": self.means.copy(),
                "covariances": np.array(expand_to_full(self.covariances, covariance_type, K, D))}


class GaussianMixture:
    """Gaussian mixture model fitted by EM (mirrors ``sklearn.mixture.GaussianMixture``).

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        Stop when the mean per-sample log-likelihood improves by less than ``tol``; ``tol=0`` runs exactly
        ``max_iter`` iterations.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default 100
        EM iterations per initialisation (0: keep the initial parameters).
    n_init : int, default 1
        Initialisations; the one with the highest final lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        Initial responsibilities: one-hot k-means labels; one-hot on k-means++ seeds; uniform random
        (rows normalised); one-hot on distinct random points. The first M-step turns them into parameters.
    weights_init, means_init, precisions_init : array_like, optional
        Given initial parameters (``precisions_init`` in ``covariance_type``'s shape, *precisions*, i.e.
        inverse covariances, as in scikit-learn); they override ``init_params``.
    random_state : int, numpy.random.Generator or None
        Seeds the initialisation and :meth:`sample`.
    keep_snapshots : bool, default False
        Record the parameters after every iteration in ``snapshots_`` (for "after iteration 1, 2, ..., 20"
        figures).

    Attributes
    ----------
    weights_ : ndarray (K,)
    means_ : ndarray (K, D)
    covariances_ : ndarray, covariance_type's shape
    precisions_cholesky_ : ndarray, covariance_type's shape
        Upper-triangular ``P`` with ``P P^T = Sigma^{-1}`` (full, tied); ``1 / sqrt(variance)`` otherwise.
    precisions_ : ndarray, covariance_type's shape
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean per-sample log-likelihood at the last E-step of the best initialisation (scikit-learn's
        definition: evaluated *before* that iteration's M-step).
    lower_bounds_ : list of float
        The per-iteration history of ``lower_bound_`` (the convergence plot); ``lower_bounds_[i]`` is the mean
        log-likelihood of the parameters after ``i`` M-steps. Multiply by ``n_samples`` for the total.
    snapshots_ : list of dict
        With ``keep_snapshots=True``: ``snapshots_[i]`` holds ``iteration`` (= i), ``weights``, ``means`` and
        ``covariances`` (always as full (K, D, D) matrices) after ``i`` iterations; ``snapshots_[0]`` is the
        initialisation.
    n_features_in_ : int
    """

    def __init__(self, n_components: int = 1, *, covariance_type: str = "full", tol: float = 1e-3,
                 reg_covar: float = 1e-6, max_iter: int = 100, n_init: int = 1,
                 init_params: str = "kmeans", weights_init: Any = None, means_init: Any = None,
                 precisions_init: Any = None, random_state: Any = None,
                 keep_snapshots: bool = False) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.keep_snapshots = keep_snapshots

    def __repr__(self) -> str:
        return (f"GaussianMixture(n_components={self.n_components}, "
                f"covariance_type={self.covariance_type!r})")

    # ------------------------------------------------------------------ fitting
    def _check_parameters(self, X: np.ndarray) -> None:
        check_covariance_type(self.covariance_type)
        check_n_components(self.n_components, X.shape[0])
        check_nonnegative(self.tol, "tol")
        check_nonnegative(self.reg_covar, "reg_covar")
        check_int(self.max_iter, "max_iter", 0)
        check_int(self.n_init, "n_init", 1)
        if self.init_params not in INIT_PARAMS:
            raise ValueError(f"unknown init_params {self.init_params!r}; choose one of "
                             f"{', '.join(INIT_PARAMS)}")
        K, D = self.n_components, X.shape[1]
        if self.weights_init is not None:
            check_weights(self.weights_init, K, name="weights_init")
        if self.means_init is not None:
            check_means(self.means_init, K, D, name="means_init")
        if self.precisions_init is not None:
            check_covariances(self.precisions_init, K, D, self.covariance_type, name="precisions_init")

    def _initial_state(self, X: np.ndarray, design: _blocked.Design, rng: np.random.Generator
                       ) -> _State:
        ct, K, D = self.covariance_type, self.n_components, X.shape[1]
        weights = means = covariances = None
        if self.weights_init is None or self.means_init is None or self.precisions_init is None:
            resp = initial_responsibilities(X, K, self.init_params, rng)
            nk, means, covariances = _fit_parameters(design, resp, float(self.reg_covar), ct)
            weights = nk / nk.sum()
        if self.weights_init is not None:
            weights = np.array(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            means = np.array(self.means_init, dtype=np.float64)
        if self.precisions_init is not None:
            prec_chol = precisions_cholesky_from_precisions(self.precisions_init, ct)
            covariances, cov_chol = covariances_from_precisions_cholesky(prec_chol, ct)
            cov_chol = expand_to_full(cov_chol, ct, K, D)
        else:
            cov_chol, prec_chol = factorize(covariances, ct, K, D)
        return _State(weights, means, covariances, prec_chol, cov_chol)

    def _em(self, design: _blocked.Design, state: _State
            ) -> tuple[_State, float, list[float], bool, int, list[dict[str, Any]]]:
        """EM from ``state`` (:func:`~mlcourse.mixture.em.run_em`), each iteration one fused pass over the
        data (:func:`~mlcourse.mixture._blocked.em_statistics`) and the M-step from its statistics."""
        ct, K, D = self.covariance_type, self.n_components, design.n_features
        reg, N = float(self.reg_covar), design.n_samples

        def e_step(state: _State) -> tuple[float, tuple[np.ndarray, _blocked.Components]]:
            comps = components(state.means, state.prec_chol, ct, state.weights, design.shift,
                               cov_chol=state.cov_chol)
            loglik, S = _blocked.em_statistics(design, comps)
            return loglik, (S, comps)

        def m_step(statistics: tuple[np.ndarray, _blocked.Components]) -> _State:
            nk, means, covariances = _blocked.parameters_from_statistics(*statistics, reg, ct, design.shift)
            cov_chol, prec_chol = factorize(covariances, ct, K, D)
            return _State(nk / nk.sum(), means, covariances, prec_chol, cov_chol)

        snapshots = [state.snapshot(ct, 0)] if self.keep_snapshots else []
        run = run_em(state, e_step, m_step, n_samples=N, max_iter=self.max_iter, tol=float(self.tol),
                     on_iteration=(lambda i, s: snapshots.append(s.snapshot(ct, i))) if self.keep_snapshots
                     else None)
        history = [loglik / N for loglik in run.logliks]
        lower_bound = history[-1] if history else -math.inf
        return run.params, lower_bound, history, run.converged, run.n_iter, snapshots

    def fit(self, X: Any, y: Any = None) -> GaussianMixture:
        """Fit the mixture by EM (``n_init`` initialisations, keep the best lower bound).

        Raises
        ------
        ValueError
            On invalid data or hyper-parameters, or when a covariance stops being positive definite (the
            message names the component and suggests ``reg_covar`` or rescaling).
        """
        X = check_data(X)
        self._check_parameters(X)
        design = _blocked.Design(X)
        rng = check_random_state(self.random_state)
        best = None
        with _blocked.single_threaded_blas():
            for _ in range(int(self.n_init)):
                result = self._em(design, self._initial_state(X, design, rng))
                if best is None or result[1] > best[1]:
                    best = result
        state, self.lower_bound_, self.lower_bounds_, self.converged_, self.n_iter_, snapshots = best
        if self.keep_snapshots:
            self.snapshots_ = snapshots
        self.weights_, self.means_ = state.weights, state.means
        self.covariances_, self.precisions_cholesky_ = state.covariances, state.prec_chol
        P = state.prec_chol
        if self.covariance_type == "full":
            self.precisions_ = P @ P.transpose(0, 2, 1)
        elif self.covariance_type == "tied":
            self.precisions_ = P @ P.T
        else:
            self.precisions_ = P**2
        self.n_features_in_ = X.shape[1]
        if not self.converged_ and self.max_iter > 0 and self.tol > 0:
            warnings.warn(f"EM did not converge in max_iter={self.max_iter} iterations (tol={self.tol}); "
                          "increase max_iter or tol", ConvergenceWarning, stacklevel=2)
        return self

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X)`` then ``predict(X)``."""
        return self.fit(X).predict(X)

    # ------------------------------------------------------------------ using a fitted model
    def _components_for(self, X: Any) -> tuple[_blocked.Design, _blocked.Components]:
        if not hasattr(self, "means_"):
            raise NotFittedError("this GaussianMixture is not fitted yet; call fit(X) first")
        X = check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the mixture was fitted with "
                             f"{self.n_features_in_}")
        design = _blocked.Design(X)
        return design, components(self.means_, self.precisions_cholesky_, self.covariance_type,
                                  self.weights_, design.shift)

    def _estimate_weighted_log_prob(self, X: Any) -> np.ndarray:
        """``log pi_k + log N(x_n | mu_k, Sigma_k)``, (N, K)."""
        return _blocked.log_joint(*self._components_for(X))

    def score_samples(self, X: Any) -> np.ndarray:
        """``log p(x_n)`` under the model, (N,)."""
        return logsumexp(self._estimate_weighted_log_prob(X), axis=1)

    def score(self, X: Any, y: Any = None) -> float:
        """Mean per-sample log-likelihood of ``X``."""
        return float(np.mean(self.score_samples(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of each sample, (N,)."""
        return np.argmax(self._estimate_weighted_log_prob(X), axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities ``p(z_n = k | x_n)``, (N, K)."""
        return _blocked.responsibilities(*self._components_for(X))[0]

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points from the fitted mixture: (X (n, D), component labels (n,))."""
        if not hasattr(self, "means_"):
            raise NotFittedError("this GaussianMixture is not fitted yet; call fit(X) first")
        n_samples = check_int(n_samples, "n_samples", 1)
        K, D = self.means_.shape
        covariances = expand_to_full(self.covariances_, self.covariance_type, K, D)
        return sample_gmm(n_samples, self.weights_, self.means_, covariances, seed=self.random_state)

    def _n_parameters(self) -> int:
        K, D = self.means_.shape
        cov_params = {"full": K * D * (D + 1) // 2, "diag": K * D, "tied": D * (D + 1) // 2,
                      "spherical": K}[self.covariance_type]
        return int(cov_params + K * D + K - 1)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion ``-2 log L + p log N``; lower is better."""
        X = check_data(X)
        return -2.0 * self.score(X) * X.shape[0] + self._n_parameters() * math.log(X.shape[0])

    def aic(self, X: Any) -> float:
        """Akaike information criterion ``-2 log L + 2 p``; lower is better."""
        X = check_data(X)
        return -2.0 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
