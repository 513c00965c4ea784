"""Warnings and errors of the package."""


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iter`` before its certificate reached ``tol``.

    A ``UserWarning`` of its own, not a subclass of scikit-learn's
    ``ConvergenceWarning``: importing scikit-learn to subclass it would be most of the
    time ``import penalized`` takes. Filter it by this class, e.g.
    ``warnings.simplefilter("ignore", penalized.ConvergenceWarning)``.
    """


class NoFiniteMinimizerWarning(UserWarning):
    """The objective has no finite minimizer (e.g. separable classes at alpha=0): the
    reported coefficients are a point on a ray along which the loss keeps falling."""
