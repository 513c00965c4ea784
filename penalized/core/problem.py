r"""The optimization problem: validated data + datafit + penalty.

.. math::

    \min_{w, b}\ \frac{1}{n} \sum_i s_i\, \ell(y_i, x_i^\top w + b + o_i) + \alpha P(w)

with ``o`` the ``offset`` (zero unless given). A :class:`Problem` is immutable; solvers
read it and return results. All the math that every solver needs (objective, gradient,
Lipschitz constant) lives here, written once for dense and sparse X. The offset enters
the predictor here once: solvers keep ``xw = X w + offset`` (the predictor less the
intercept, :meth:`Problem.linear_predictor` at ``b = 0``) as their state.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..penalties import Penalty
from .datafits import Datafit
from .validation import (
    check_magnitude,
    check_offset,
    check_sample_weight,
    check_X,
    check_y,
    raise_not_finite,
    solver_layout,
)


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """Validated data and the model; build it with :func:`make_problem`."""

    X: np.ndarray | sp.csc_matrix
    y: np.ndarray
    sample_weight: np.ndarray
    datafit: Datafit
    penalty: Penalty
    fit_intercept: bool = True
    classes: np.ndarray | None = None
    #: fixed part of the linear predictor, shape (n_samples,) (None: zero)
    offset: np.ndarray | None = None
    #: memo of pure functions of the data (e.g. Gram blocks; the datafit gradient at
    #: the last returned point, keyed by that point), shared by the problems of one
    #: path (``with_penalty`` keeps it; ``with_data`` drops it); never solver state
    memo: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.X)

    @property
    def n_outputs(self) -> int:
        """Columns of the linear predictor: the number of classes for a multiclass datafit."""
        if self.datafit.multiclass:
            return int(self.classes.shape[0])
        return 1

    @property
    def coef_shape(self) -> tuple[int, ...]:
        """``(n_features,)``, or ``(n_features, n_classes)`` for a multiclass datafit."""
        if self.datafit.multiclass:
            return (self.n_features, self.n_outputs)
        return (self.n_features,)

    @property
    def intercept_shape(self) -> tuple[int, ...]:
        """``()`` (a float), or ``(n_classes,)`` for a multiclass datafit."""
        return (self.n_outputs,) if self.datafit.multiclass else ()

    def with_penalty(self, penalty: Penalty) -> Problem:
        """Same data, another penalty (e.g. another alpha along a path); keeps the memo
        and the cached constants of the data (none depends on the penalty), without
        ``dataclasses.replace``'s cost (once per alpha of a path)."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        object.__setattr__(other, "penalty", penalty)
        return other

    def with_solver_layout(self) -> Problem:
        """This problem with X as the solvers read it (float64, Fortran-ordered when dense,
        CSC when sparse): itself when X already is (``make_problem(..., keep_dense=True)``
        may leave it otherwise)."""
        X = solver_layout(self.X)
        if X is self.X:
            return self
        out = self.with_data(X=X)
        if self.X.dtype == np.float32 and not self.is_sparse:
            # the same values: the gradient's float32 passes read it instead of a copy
            # (core/gradient.py)
            out.memo["float32_X"] = self.X
        return out

    def with_data(self, **changes) -> Problem:
        """A copy with other data (X, y, sample_weight...); memos of the old X are dropped."""
        return dataclasses.replace(self, memo={}, **changes)

    # ---- evaluation ---------------------------------------------------
    def linear_predictor(self, w, b: float) -> np.ndarray:
        """``X w + b + offset``; at ``b = 0`` the solvers' ``xw``."""
        z = self.X @ w + b
        return z if self.offset is None else z + self.offset

    def datafit_value(self, z) -> float:
        return self.datafit.value(self.y, z, self.sample_weight)

    def objective(self, w, b: float) -> float:
        """Primal objective at ``(w, b)``."""
        return self.datafit_value(self.linear_predictor(w, b)) + self.penalty.value(w)

    def gradient(self, w, b: float):
        """Gradient of the datafit: ``(grad_w, grad_b, z)`` (shapes of w, b and z)."""
        z = self.linear_predictor(w, b)
        gz = self.datafit.gradient_z(self.y, z, self.sample_weight)
        if gz.ndim == 2:  # multiclass: one intercept per class
            return np.asarray(self.X.T @ gz), np.sum(gz, axis=0), z
        return self.X.T @ gz, float(gz.sum()), z

    def intercept_at_zero(self):
        """Optimal intercept of the null model (an array of shape (n_classes,) if multiclass)."""
        if not self.fit_intercept:
            return np.zeros(self.intercept_shape) if self.intercept_shape else 0.0
        b = self.datafit.intercept_at_zero(self.y, self.sample_weight)
        if self.offset is None:
            return b
        return self.datafit.optimal_intercept(self.y, self.offset, b, self.sample_weight)

    def null_predictor(self, b) -> np.ndarray:
        """The linear predictor of the model with every coefficient 0."""
        z = np.zeros((self.n_samples,) + self.intercept_shape) + b
        return z if self.offset is None else z + self.offset

    # ---- constants (of the data only: with_penalty keeps them) ----------
    @cached_property
    def column_norms2(self) -> np.ndarray:
        """``sum_i s_i x_ij^2 / n`` for every column (coordinate Lipschitz constants / c)."""
        if self.is_sparse:
            Xs = self.X.multiply(self.X).T @ self.sample_weight
            return np.asarray(Xs).ravel() / self.n_samples
        return (self.sample_weight @ (self.X**2)) / self.n_samples

    @cached_property
    def lipschitz(self) -> float:
        """Lipschitz constant of the datafit gradient in ``(w, b)`` jointly.

        ``c * ||S^{1/2} [X, 1]||_2^2 / n`` with ``c`` the datafit's curvature
        bound; the largest singular value comes from a few Lanczos iterations. A
        datafit without a bound (Poisson) takes its largest curvature at the null
        model: a starting estimate, which FISTA's backtracking raises as needed (plain
        gradient descent refuses such a datafit).
        """
        sqrt_s = np.sqrt(self.sample_weight)
        n, p = self.X.shape

        def matvec(v):
            v = np.ravel(v)
            u = self.X @ v[:p] + (v[p] if self.fit_intercept else 0.0)
            return sqrt_s * u

        def rmatvec(u):
            u = sqrt_s * np.ravel(u)
            out = self.X.T @ u
            return np.append(out, u.sum()) if self.fit_intercept else out

        m = p + int(self.fit_intercept)
        if min(n, m) <= 2:
            dense = self.X.toarray() if self.is_sparse else np.asarray(self.X)
            if self.fit_intercept:
                dense = np.column_stack([dense, np.ones(n)])
            sigma = np.linalg.norm(sqrt_s[:, None] * dense, 2)
        else:
            op = spla.LinearOperator((n, m), matvec=matvec, rmatvec=rmatvec, dtype=float)
            sigma = spla.svds(op, k=1, return_singular_vectors=False, tol=1e-4,
                              random_state=0)[0] * 1.001
        c = self.datafit.curvature_bound
        if not np.isfinite(c):
            z0 = self.null_predictor(self.intercept_at_zero())
            c = float(np.max(self.datafit.d2loss(self.y, z0)))
        return float(c * sigma**2 / n) + 1e-300


def _column_of(X, value: float) -> str:
    """Where the first entry of absolute value ``value`` sits (for error messages)."""
    dense = X.toarray() if sp.issparse(X) else X
    row, col = np.argwhere(np.abs(dense) == value)[0]
    return f"row {row}, column {col}"


def make_problem(X, y, datafit: Datafit, penalty: Penalty, *, fit_intercept: bool = True,
                 sample_weight=None, offset=None, keep_dense: bool = False) -> Problem:
    """Validate everything once and build a :class:`Problem` (``offset``: a fixed part of
    the linear predictor per sample, e.g. ``log(exposure)`` for Poisson). ``keep_dense``:
    dense float32 / float64 X stays as given (:func:`~.validation.check_X`), for a
    route that reads it by blocks of rows; others take ``with_solver_layout()``."""
    if not isinstance(datafit, Datafit):
        raise TypeError(f"datafit must be a penalized datafit (e.g. pz.LeastSquares()), "
                        f"got {datafit!r}")
    if not isinstance(penalty, Penalty):
        raise TypeError(f"penalty must be a penalized penalty (e.g. pz.L1()), got {penalty!r}")
    X = check_X(X, keep_dense=keep_dense, check_finite=False)
    # NaN / infinity and magnitude of X in two reductions (check_X's sum would be a third)
    check_magnitude(X, X.shape[0] * X.shape[1], "X", where=lambda v: _column_of(X, v),
                    not_finite=lambda: raise_not_finite(X))
    y = check_y(y, X.shape[0])
    if datafit.task == "regression" and y.dtype.kind not in "biuf":
        try:
            y = y.astype(float)
        except (TypeError, ValueError):
            raise TypeError(f"y must be numeric for {type(datafit).__name__}, "
                            f"got dtype {y.dtype}") from None
    if y.dtype.kind in "biuf":
        check_magnitude(y, X.shape[0], "y")
    y_int, classes = datafit.prepare_target(y)
    s = check_sample_weight(sample_weight, X.shape[0])
    if penalty.weights is not None and penalty.weights.shape[0] != X.shape[1]:
        raise ValueError(
            f"penalty weights have {penalty.weights.shape[0]} entries but X has "
            f"{X.shape[1]} features"
        )
    penalty.check_n_features(X.shape[1])
    penalty.bounds(X.shape[1])  # one bound per feature, or one clear error
    if datafit.multiclass and penalty.weights is not None and np.any(penalty.weights == 0):
        raise ValueError(f"{type(datafit).__name__} does not support unpenalized features "
                         "(penalty weights of 0) yet: give them a small positive weight")
    offset = check_offset(offset, X.shape[0])
    if offset is not None and datafit.multiclass:
        raise ValueError(f"{type(datafit).__name__} does not take an offset (one predictor "
                         "per class); offsets serve single-output datafits")
    return Problem(X, y_int, s, datafit, penalty, bool(fit_intercept), classes, offset)
