"""Dask input for the ``*CV`` estimators: the checks scikit-learn's ``validate_data``
would make, without bringing X to this process (:mod:`penalized.workflows.tall`)."""

from __future__ import annotations

import numpy as np


def prepare_dask_classifier(estimator, X, y, sample_weight):
    """``(X, y, sample_weight)`` of row-chunked Dask input, with ``classes_`` and
    ``n_features_in_`` set from them (y's labels come to this process, X does not)."""
    import dask

    if estimator.class_weight is not None:
        raise ValueError("class_weight with a Dask X: give the weights as sample_weight")
    if getattr(X, "ndim", 2) != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    labels = y.compute() if dask.is_dask_collection(y) else np.asarray(y)
    estimator.classes_ = np.unique(np.asarray(labels))
    if estimator.classes_.shape[0] < 2:
        raise ValueError(f"this solver needs samples of at least 2 classes in the data, "
                         f"but the data contains only one class: {estimator.classes_[0]!r}")
    estimator.n_features_in_ = int(X.shape[1])
    return X, y, sample_weight
