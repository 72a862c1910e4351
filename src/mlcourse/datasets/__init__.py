"""Data sets of the course: Old Faithful (shipped CSV) and seeded synthetic clustering data.

``load_old_faithful()`` -> (272, 2) array (eruptions [min], waiting [min]); ``OLD_FAITHFUL_MLE``, its
maximum-likelihood 2-component Gaussian mixture; ``make_dataset(name, n_samples=500, random_state=0)`` ->
``(X, y)`` for ``name`` in ``DATASET_NAMES``.
"""

from mlcourse.datasets.faithful import OLD_FAITHFUL_MLE, load_old_faithful
from mlcourse.datasets.synthetic import DATASET_NAMES, make_dataset

__all__ = ["DATASET_NAMES", "OLD_FAITHFUL_MLE", "load_old_faithful", "make_dataset"]
