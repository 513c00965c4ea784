r"""Datafits: the ``(1/n) sum_i s_i loss(y_i, z_i)`` part of the objective.

Each datafit is written once, per sample, on the linear predictor
``z = X w + b``; the solvers wrap it (gradient ``X^T (s * dloss) / n``).
Sample weights ``s`` are normalized to sum to ``n``, so the datafit is a
weighted mean. ``curvature_bound`` bounds ``d2loss`` and gives every
Lipschitz constant; ``conjugate`` gives the duality gap.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from scipy.special import expit, log1p, logsumexp, softmax, xlogy

from . import datafits_compiled as _compiled
from .newton import damped_newton


@dataclasses.dataclass(frozen=True)
class Datafit(ABC):
    """Pointwise loss on the linear predictor ``z``."""

    #: upper bound on ``d2loss`` (1 for least squares, 1/4 for logistic)
    curvature_bound: ClassVar[float] = 1.0
    #: "regression" or "classification"
    task: ClassVar[str] = "regression"
    #: registry name (CLI, kernels)
    name: ClassVar[str] = ""
    #: id of its compiled per-sample operations (:mod:`.datafits_compiled`); -1: none
    kernel_id: ClassVar[int] = -1
    #: whether ``conjugate`` exists (so a duality gap can be computed)
    has_conjugate: ClassVar[bool] = True
    #: whether the loss is quadratic in z (one Newton step is exact)
    quadratic: ClassVar[bool] = False
    #: whether z has one column per class (coefficients of shape (n_features, n_classes),
    #: one intercept per class); ``y`` is then coded as class indices 0..K-1
    multiclass: ClassVar[bool] = False
    #: the cross-validation's default score (a name of
    #: :data:`penalized.workflows.scoring.SCORERS`); "": by ``task`` (glmnet's defaults)
    default_scoring: ClassVar[str] = ""
    #: whether ``d2loss`` is the second derivative everywhere (False: it returns the
    #: curvature bound instead, so the engine's quadratic models majorize the loss)
    exact_curvature: ClassVar[bool] = True

    def prepare_target(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Validate ``y`` and map it to the internal coding; returns ``(y, classes)``."""
        return np.asarray(y, dtype=float), None

    @abstractmethod
    def loss(self, y, z):
        """Per-sample loss."""

    @abstractmethod
    def dloss(self, y, z):
        """Derivative of the loss with respect to ``z``."""

    @abstractmethod
    def d2loss(self, y, z):
        """Second derivative with respect to ``z``."""

    @abstractmethod
    def conjugate(self, y, a):
        """Per-sample Fenchel conjugate ``loss_y^*(a)`` (``inf`` outside the domain)."""

    @abstractmethod
    def intercept_at_zero(self, y, sample_weight) -> float:
        """Optimal intercept when every coefficient is zero."""

    @abstractmethod
    def inverse_link(self, z):
        """Prediction on the response scale (mean, or probability of the positive class)."""

    def value(self, y, z, sample_weight) -> float:
        """``(1/n) sum_i s_i loss(y_i, z_i)`` with ``sum s = n``."""
        return float((sample_weight * self.loss(y, z)).mean())

    def gradient_z(self, y, z, sample_weight):
        """Gradient of :meth:`value` with respect to ``z`` (shape of ``z``)."""
        return sample_weight * self.dloss(y, z) / y.shape[0]

    def optimal_intercept(self, y, z_without_b, b, sample_weight) -> float:
        """The intercept minimizing the datafit for a fixed rest of the predictor
        ``z_without_b``, from ``b``: the weighted mean residual for a quadratic datafit,
        else Newton's method (exact curvature: every ``d2loss`` here is one, or has a
        closed-form override)."""
        s = sample_weight
        if self.quadratic:  # the weighted mean residual (np.average: 3x the time)
            return float(np.dot(s, y - z_without_b) / np.sum(s))
        for _ in range(50):
            z = z_without_b + b
            g = np.sum(s * self.dloss(y, z))
            h = np.sum(s * self.d2loss(y, z))
            if h <= 0:
                break
            delta = g / h
            b -= delta
            if abs(delta) <= 1e-13 * (1.0 + abs(b)):
                break
        return float(b)


@dataclasses.dataclass(frozen=True)
class LeastSquares(Datafit):
    r"""``loss(y, z) = (y - z)^2 / 2``: the datafit of Lasso, Ridge, ElasticNet.

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> pz.LeastSquares().loss(np.array([1.0]), np.array([0.0]))
    array([0.5])
    """

    curvature_bound: ClassVar[float] = 1.0
    name: ClassVar[str] = "leastsquares"
    kernel_id: ClassVar[int] = _compiled.LEAST_SQUARES
    quadratic: ClassVar[bool] = True

    def loss(self, y, z):
        return 0.5 * (y - z) ** 2

    def dloss(self, y, z):
        return z - y

    def d2loss(self, y, z):
        return np.ones_like(z)

    def conjugate(self, y, a):
        # sup_z a z - (y - z)^2 / 2  at z = y + a
        return a * y + 0.5 * a**2

    def intercept_at_zero(self, y, sample_weight):  # (np.average: 3x the time)
        return float(np.dot(sample_weight, y) / sample_weight.sum())

    def inverse_link(self, z):
        return z


@dataclasses.dataclass(frozen=True)
class Logistic(Datafit):
    r"""``loss(y, z) = log(1 + exp(-y z))`` with ``y`` in {-1, +1}.

    Any two labels are accepted: the larger (``classes[1]``, as in
    scikit-learn) is coded +1.
    """

    curvature_bound: ClassVar[float] = 0.25
    task: ClassVar[str] = "classification"
    name: ClassVar[str] = "logistic"
    kernel_id: ClassVar[int] = _compiled.LOGISTIC

    def prepare_target(self, y):
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        if classes.shape[0] != 2:
            raise ValueError(
                f"Logistic needs exactly two classes in y, got {classes.shape[0]}"
                + (f" ({classes.tolist()[:5]})" if classes.shape[0] < 6 else "")
            )
        return np.where(codes.ravel() == 1, 1.0, -1.0), classes

    def loss(self, y, z):
        return np.logaddexp(0.0, -y * z)

    def dloss(self, y, z):
        return -y * expit(-y * z)

    def d2loss(self, y, z):
        p = expit(z)
        return p * (1.0 - p)

    def conjugate(self, y, a):
        # loss_y^*(a) with a = -y t, t in [0, 1]: t log t + (1 - t) log(1 - t)
        t = -y * a
        inside = (t >= -1e-12) & (t <= 1 + 1e-12)
        t = np.clip(t, 0.0, 1.0)
        val = xlogy(t, t) + xlogy(1.0 - t, 1.0 - t)
        return np.where(inside, val, np.inf)

    def intercept_at_zero(self, y, sample_weight):
        p = np.average(y > 0, weights=sample_weight)
        return float(np.log(p) - log1p(-p))

    def inverse_link(self, z):
        return expit(z)


@dataclasses.dataclass(frozen=True)
class Multinomial(Datafit):
    r"""Softmax cross-entropy: ``loss(y, z) = logsumexp(z) - z_y`` for ``K >= 2`` classes.

    The linear predictor has one column per class, ``Z = X W + b`` with ``W`` of
    shape (n_features, n_classes) and ``b`` of shape (n_classes,); penalties act
    entrywise on ``W`` (scikit-learn's multinomial ``LogisticRegression``). Any
    labels are accepted; they are coded ``0..K-1`` in the order of
    ``np.unique(y)`` (``classes``).

    The per-sample Hessian ``diag(p) - p p^T`` (``p = softmax(z)``) has its
    largest eigenvalue below 1/2, the curvature bound. Softmax is invariant to
    adding a constant to every class, so the intercepts are reported centered
    (summing to zero, as scikit-learn's lbfgs keeps them); the penalty makes
    ``W`` unique for ``alpha > 0``.

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> z = np.array([[0.0, 0.0, 0.0]])
    >>> pz.Multinomial().loss(np.array([2]), z).round(4)
    array([1.0986])
    """

    curvature_bound: ClassVar[float] = 0.5
    task: ClassVar[str] = "classification"
    name: ClassVar[str] = "multinomial"
    multiclass: ClassVar[bool] = True

    def prepare_target(self, y):
        y = np.asarray(y)
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            bad = y[y != np.round(y)][:3].tolist()
            raise ValueError(f"Multinomial needs class labels, but y is continuous "
                             f"(non-integer values such as {bad}); use LeastSquares for a "
                             "continuous target")
        classes, codes = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"Multinomial needs at least two classes in y, got "
                             f"{classes.shape[0]}")
        return codes.ravel().astype(np.intp), classes

    @staticmethod
    def _onehot(y, n_classes: int) -> np.ndarray:
        out = np.zeros((y.shape[0], n_classes))
        out[np.arange(y.shape[0]), np.asarray(y, dtype=np.intp)] = 1.0
        return out

    def loss(self, y, z):
        """Per-sample loss, shape (n_samples,), for ``z`` of shape (n_samples, n_classes).

        Written on the margins ``d_k = z_k - z_y``: ``log(1 + sum_{k != y} e^{d_k})``
        keeps full relative precision when the true class dominates (a loss of
        1e-9 is not lost in the cancellation of ``logsumexp(z) - z_y``, which
        would stall line searches on nearly separable data).
        """
        rows = np.arange(z.shape[0])
        y = np.asarray(y, dtype=np.intp)
        margins = z - z[rows, y][:, None]
        top = np.max(margins, axis=1)  # >= 0: the true class has margin 0
        scaled = np.exp(margins - top[:, None])
        scaled[rows, y] = 0.0
        others = scaled.sum(axis=1)
        with np.errstate(divide="ignore"):
            away = top + np.log(np.exp(-top) + others)
        return np.where(top == 0.0, np.log1p(others), away)

    def dloss(self, y, z):
        """``softmax(z) - onehot(y)``, shape (n_samples, n_classes).

        The true class's entry is ``-sum_{k != y} p_k`` (exact for small errors).
        """
        p = softmax(z, axis=1)
        rows = np.arange(z.shape[0])
        y = np.asarray(y, dtype=np.intp)
        p[rows, y] = 0.0
        p[rows, y] = -p.sum(axis=1)
        return p

    def d2loss(self, y, z):
        """Diagonal of the per-sample Hessian, ``p (1 - p)`` (per-class IRLS weights)."""
        p = softmax(z, axis=1)
        return p * (1.0 - p)

    def conjugate(self, y, a):
        # loss_y^*(a) = sup_z (a + e_y).z - logsumexp(z): the negative entropy of
        # q = a + e_y when q is in the simplex, +inf otherwise. Per sample, shape (n,).
        q = a + self._onehot(y, a.shape[1])
        inside = (np.min(q, axis=1) >= -1e-12) & (np.abs(q.sum(axis=1) - 1.0) <= 1e-9)
        q = np.clip(q, 0.0, 1.0)
        return np.where(inside, np.sum(xlogy(q, q), axis=1), np.inf)

    def intercept_at_zero(self, y, sample_weight):
        """Log of the weighted class frequencies, centered; shape (n_classes,)."""
        n_classes = int(np.max(y)) + 1
        freq = np.bincount(np.asarray(y, dtype=np.intp), weights=sample_weight,
                           minlength=n_classes)
        logs = np.log(np.maximum(freq / freq.sum(), 1e-12))
        return logs - logs.mean()

    def inverse_link(self, z):
        """Class probabilities ``softmax(z)``, shape (n_samples, n_classes)."""
        return softmax(z, axis=-1)

    def value(self, y, z, sample_weight) -> float:
        return float(np.mean(sample_weight * self.loss(y, z)))

    def gradient_z(self, y, z, sample_weight):
        return sample_weight[:, None] * self.dloss(y, z) / y.shape[0]

    def optimal_intercept(self, y, z_without_b, b, sample_weight) -> np.ndarray:
        """Intercepts minimizing the datafit for fixed ``X W`` (damped Newton), centered.

        The Hessian ``sum_i s_i (diag(p_i) - p_i p_i^T)`` is singular along the
        all-ones direction (softmax invariance): solved by least squares.
        """
        s = sample_weight
        onehot = self._onehot(y, z_without_b.shape[1])
        target = s @ onehot
        total = s.sum()

        def value(b):
            return self.value(y, z_without_b + b, s)

        def direction(b):
            p = softmax(z_without_b + b, axis=1)
            g = s @ p - target
            if np.max(np.abs(g)) <= 1e-13 * total:
                return None
            H = np.diag(s @ p) - (p * s[:, None]).T @ p
            return np.linalg.lstsq(H, g, rcond=None)[0]

        b = damped_newton(value, direction, np.array(b, dtype=float), max_iter=50)
        return b - b.mean()


@dataclasses.dataclass(frozen=True)
class Poisson(Datafit):
    r"""Poisson regression, log link: the unit half deviance of counts ``y >= 0``,
    ``loss(y, z) = y log(y / mu) - y + mu`` with ``mu = exp(z)``.

    That is the negative log-likelihood ``exp(z) - y z`` (without ``log(y!)``) plus the
    constant ``y log y - y``, so the loss is 0 at the saturated model and the objective
    ``(1/n) sum_i s_i loss + alpha ||w||^2 / 2`` is exactly scikit-learn's
    ``PoissonRegressor(alpha)`` objective (the same alpha; glum's too; skglm's
    ``Poisson`` datafit is ``exp(z) - y z``, the same minimizers). It is never negative,
    so the engine's stopping rule, relative to the objective, is meaningful. An offset
    (``log(exposure)``, ``pz.fit(..., offset=)``) enters the predictor
    ``z = X w + b + offset``. The curvature ``exp(z)`` has no global bound: the
    coordinate-descent engine takes prox-Newton steps with a line search, FISTA
    backtracks, plain gradient descent refuses it.

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> pz.Poisson().loss(np.array([1.0, 0.0]), np.array([0.0, 0.0]))
    array([0., 1.])
    """

    curvature_bound: ClassVar[float] = np.inf
    name: ClassVar[str] = "poisson"
    kernel_id: ClassVar[int] = _compiled.POISSON
    default_scoring: ClassVar[str] = "poisson_deviance"

    def prepare_target(self, y):
        y = np.asarray(y, dtype=float)
        negative = np.flatnonzero(y < 0)
        if negative.size:
            raise ValueError(f"Poisson needs counts y >= 0; {negative.size} row(s) are "
                             f"negative (row {negative[0]}: y = {y[negative[0]]:g})")
        if not np.any(y > 0):
            raise ValueError("Poisson needs at least one positive count in y (all are 0: "
                             "the null model's log-mean is -infinity)")
        return y, None

    def loss(self, y, z):
        return np.exp(z) - y + y * (_log_or_zero(y) - z)

    def dloss(self, y, z):
        return np.exp(z) - y

    def d2loss(self, y, z):
        return np.exp(z)

    def conjugate(self, y, a):
        # sup_z (a + y) z - exp(z) at z = log(a + y) is t log t - t with t = a + y >= 0;
        # less the loss's constant y log y - y
        t = a + y
        inside = t >= -1e-12
        t = np.maximum(t, 0.0)
        return np.where(inside, xlogy(t, t) - t - xlogy(y, y) + y, np.inf)

    def intercept_at_zero(self, y, sample_weight):
        return float(np.log(np.average(y, weights=sample_weight)))

    def optimal_intercept(self, y, z_without_b, b, sample_weight) -> float:
        # closed form: sum s exp(z + b) = sum s y (Newton from far below overshoots)
        s = sample_weight
        return float(np.log(np.dot(s, y)) - logsumexp(z_without_b, b=s))

    def inverse_link(self, z):
        return np.exp(z)


def _log_or_zero(y):
    """``log y`` where ``y > 0``, 0 where ``y = 0`` (``y log y`` is 0 there)."""
    return np.log(np.where(y > 0, y, 1.0))


@dataclasses.dataclass(frozen=True)
class Huber(Datafit):
    r"""Huber's robust loss of the residual ``r = y - z``: ``r^2 / 2`` for
    ``|r| <= epsilon``, ``epsilon |r| - epsilon^2 / 2`` beyond.

    scikit-learn's ``HuberRegressor(epsilon, alpha_sk)`` also fits a scale ``sigma``
    and minimizes ``sum_i (sigma + 2 sigma H(r_i / sigma)) + alpha_sk ||w||^2`` with
    ``H`` this loss: at its ``sigma`` (``scale_``) its ``w`` is this datafit's with
    ``L2`` on ``(X / sigma, y / sigma)`` at ``alpha = alpha_sk / (n sigma)``
    (intercept times ``sigma``). The second derivative (1 inside, 0 beyond, none at
    ``|r| = epsilon``) is replaced by its bound 1 everywhere (:meth:`d2loss`): the
    engine's quadratic models are then majorizers (each coordinate-descent round
    lowers the objective); the intercept is solved exactly (:meth:`optimal_intercept`).

    Examples
    --------
    >>> import numpy as np, penalized as pz
    >>> pz.Huber(epsilon=1.0).loss(np.array([0.0, 3.0]), np.array([0.5, 0.0]))
    array([0.125, 2.5  ])
    """

    epsilon: float = 1.35
    curvature_bound: ClassVar[float] = 1.0
    name: ClassVar[str] = "huber"
    exact_curvature: ClassVar[bool] = False

    def __post_init__(self):
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, int | float) \
                or not (np.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"Huber epsilon must be a positive number, got {self.epsilon!r}")

    def loss(self, y, z):
        a = np.abs(y - z)
        eps = self.epsilon
        return np.where(a <= eps, 0.5 * a * a, eps * a - 0.5 * eps * eps)

    def dloss(self, y, z):
        return -np.clip(y - z, -self.epsilon, self.epsilon)

    def d2loss(self, y, z):
        """The curvature bound 1 (a majorizer; see the class docstring)."""
        return np.ones(np.shape(z))

    def conjugate(self, y, a):
        # loss_y(z) = H(y - z), H even: loss_y^*(a) = a y + H^*(a), H^*(a) = a^2 / 2 on
        # |a| <= epsilon (+inf beyond)
        inside = np.abs(a) <= self.epsilon * (1.0 + 1e-12)
        return np.where(inside, a * y + 0.5 * a * a, np.inf)

    def intercept_at_zero(self, y, sample_weight):
        return self.optimal_intercept(y, np.zeros_like(y), float(np.median(y)), sample_weight)

    def optimal_intercept(self, y, z_without_b, b, sample_weight) -> float:
        """Root of the (piecewise linear, nondecreasing) derivative in ``b``: Newton
        inside a bracket, bisection when a step leaves it; exact once on the root's
        piece."""
        t, s, eps = y - z_without_b, sample_weight, self.epsilon
        lo, hi = float(np.min(t)), float(np.max(t))  # g(lo) <= 0 <= g(hi)
        b = min(max(float(b), lo), hi)
        tiny = 1e-14 * (float(np.dot(s, np.abs(t))) + np.sum(s) * eps)
        for _ in range(200):
            r = t - b
            g = -float(np.dot(s, np.clip(r, -eps, eps)))
            if abs(g) <= tiny or hi - lo <= 1e-15 * (1.0 + abs(b)):
                break
            lo, hi = (b, hi) if g < 0 else (lo, b)
            h = float(np.dot(s, np.abs(r) < eps))
            step = b - g / h if h > 0 else np.nan
            b = step if lo < step < hi else 0.5 * (lo + hi)
        return float(b)

    def inverse_link(self, z):
        return z


DATAFITS: dict[str, type[Datafit]] = {
    cls.name: cls for cls in (LeastSquares, Logistic, Multinomial, Poisson, Huber)
}


def ALL_DATAFITS() -> list[Datafit]:  # noqa: N802 - a registry
    """One instance of each registered datafit."""
    return [cls() for cls in DATAFITS.values()]
