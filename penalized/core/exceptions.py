"""Warnings and errors of the package."""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning


class ConvergenceWarning(_SklearnConvergenceWarning):
    """A solver stopped at ``max_iter`` before its certificate reached ``tol``.

    Subclasses scikit-learn's, so existing warning filters keep working.
    """
