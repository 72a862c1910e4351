"""Reference implementations for the course unit on automatic differentiation and GMMs fitted by EM.

Subpackages
-----------
autodiff
    Forward mode (dual numbers), reverse mode (tape), finite differences, Newton's method.
mixture
    Gaussian log-densities, EM for Gaussian mixtures (loop and broadcasting flavours), k-means.
datasets
    Old Faithful (shipped CSV) and seeded synthetic generators.
plotting
    Covariance ellipses, density contours, EM-iteration panels, error curves.
"""

__version__ = "0.1.0"
