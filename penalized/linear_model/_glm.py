r"""Poisson regression (scikit-learn drop-in), with an elastic-net penalty and offsets.

Objective (scikit-learn's ``PoissonRegressor``, and penalized's one convention):

.. math::

    \frac{1}{n} \sum_i s_i \left(y_i \log\frac{y_i}{\mu_i} - y_i + \mu_i\right)
    + \alpha \left( r \|w\|_1 + \frac{1 - r}{2} \|w\|_2^2 \right),
    \qquad \mu_i = e^{x_i^\top w + b + o_i}

(half the mean Poisson deviance), with ``r = l1_ratio`` (0: scikit-learn's ridge;
glum's ``l1_ratio``), sample weights ``s`` rescaled to sum to ``n`` and an optional
offset ``o`` (``log(exposure)``), given to ``fit`` and again, for the new rows, to
``predict``. The same ``alpha`` as scikit-learn's and glum's.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ..core.datafits import Poisson
from ..core.validation import check_sample_weight
from ..penalties import L2
from ..penalties import ElasticNet as ElasticNetPenalty
from ._base import (
    LinearModelMixin,
    check_estimator_alpha,
    check_l1_ratio,
    check_max_iter,
    engine_solver,
    fit_single,
    set_fit_attributes,
    sklearn_engine_tol,
)


class PoissonRegressor(RegressorMixin, LinearModelMixin):
    r"""Penalized Poisson regression, log link (drop-in for scikit-learn's).

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty strength (scikit-learn's and glum's).
    l1_ratio : float in [0, 1], default=0.0
        Elastic-net mixing; 0 is scikit-learn's L2 penalty, 1 the lasso.
    fit_intercept : bool, default=True
    solver : str, default="auto"
        scikit-learn's names ("lbfgs", "newton-cholesky") map to "auto" (working-set
        prox-Newton coordinate descent).
    max_iter : int, default=100
        At least 20,000 epochs are allowed (scikit-learn counts L-BFGS steps).
    tol : float, default=1e-4
        As scikit-learn's: a relative accuracy of the coefficients; the engine runs at
        ``(tol / 10) ** 2`` (:func:`penalized.linear_model._base.sklearn_engine_tol`).
    warm_start : bool, default=False
    verbose : int, default=0
        Accepted for compatibility; no effect.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    certificate_ : penalized.FitResult

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.linear_model import PoissonRegressor
    >>> X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [4.0, 3.0]])
    >>> y = np.array([12.0, 17.0, 22.0, 21.0])
    >>> model = PoissonRegressor(alpha=1.0).fit(X, y)
    >>> model.predict([[1.0, 1.0], [3.0, 4.0]]).round(1).tolist()
    [10.7, 21.9]
    """

    def __init__(self, *, alpha=1.0, l1_ratio=0.0, fit_intercept=True, solver="auto",
                 max_iter=100, tol=1e-4, warm_start=False, verbose=0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _penalty(self):
        alpha, ratio = check_estimator_alpha(self.alpha), check_l1_ratio(self.l1_ratio)
        if ratio == 0.0:
            return L2(alpha=alpha)
        return ElasticNetPenalty(alpha=alpha, l1_ratio=ratio)

    def fit(self, X, y, sample_weight=None, offset=None):
        """Fit on ``X`` (n_samples, n_features), dense or sparse, and counts ``y >= 0``;
        ``offset`` (n_samples,): e.g. ``log(exposure)``."""
        penalty = self._penalty()
        X, y = self._validate_fit(X, y, classifier=False)
        init = None
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and np.shape(self.coef_) == (X.shape[1],):
            init = (self.coef_, self.intercept_)
        max_iter = check_max_iter(self.max_iter)
        res = fit_single(X, y, Poisson(), penalty, fit_intercept=self.fit_intercept,
                         sample_weight=sample_weight, solver=engine_solver(self.solver),
                         tol=sklearn_engine_tol(self.tol),
                         max_iter=None if max_iter is None else max(max_iter, 20_000),
                         init=init, offset=offset)
        set_fit_attributes(self, res)
        return self

    def predict(self, X, offset=None):
        """The mean count ``exp(X @ coef_ + intercept_ (+ offset))``, shape (n_samples,)."""
        return np.exp(self._linear_predictor(X, offset))

    def score(self, X, y, sample_weight=None, offset=None):
        """D², the fraction of the Poisson deviance explained (scikit-learn's score for
        its ``PoissonRegressor``): ``1 - D(y, mu) / D(y, mean(y))``."""
        y = np.asarray(y, dtype=float)
        s = check_sample_weight(sample_weight, y.shape[0])
        datafit = Poisson()
        fitted = datafit.value(y, np.log(self.predict(X, offset)), s)
        null = datafit.value(y, np.full(y.shape[0], np.log(np.average(y, weights=s))), s)
        return float(1.0 - fitted / null)
