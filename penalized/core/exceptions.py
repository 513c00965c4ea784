"""Warnings and errors of the package."""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning


class ConvergenceWarning(_SklearnConvergenceWarning):
    """A solver stopped at ``max_iter`` before its certificate reached ``tol``.

    Subclasses scikit-learn's, so existing warning filters keep working.
    """


class NoFiniteMinimizerWarning(UserWarning):
    """The objective has no finite minimizer (e.g. separable classes at alpha=0): the
    reported coefficients are a point on a ray along which the loss keeps falling."""
