r"""What ``alpha`` means elsewhere: conversions to and from this library's convention.

This library minimizes

.. math:: \frac{1}{n} \sum_i s_i\, \ell(y_i, x_i^\top w + b)
          + \alpha \big( r \|w\|_1 + (1 - r) \|w\|_2^2 / 2 \big)

with :math:`\ell = (y - z)^2 / 2` for least squares and the logistic loss for
classification (``r`` is ``l1_ratio``: 1 for L1, 0 for L2). Every other
convention below is written as the two strengths it puts on ``||w||_1`` and on
``||w||^2 / 2`` *in this objective* (``l1_part``, ``l2_part``), after dividing
its objective by whatever constant makes its data term equal ours. Two
objectives that differ by a positive constant factor have the same minimizer,
so converted strengths give the same coefficients.

=========================  ===============================================================
name                       the other library's objective, and the conversion
=========================  ===============================================================
``penalized``              ours: ``l1_part = alpha r``, ``l2_part = alpha (1 - r)``
``sklearn-lasso``          ``1/(2n) ||y - Xw||^2 + a ||w||_1``: ``alpha = a``
``sklearn-elasticnet``     ``1/(2n) ||y - Xw||^2 + a r ||w||_1 + a (1-r)/2 ||w||^2``: same
``sklearn-ridge``          ``||y - Xw||^2 + a ||w||^2``: ``alpha = a / n``
``sklearn-logistic-c``     ``C sum_i log-loss + r ||w||_1 + (1-r)/2 ||w||^2``: ``1/(n C)``
``sklearn-sgd``            ``(1/n) sum_i L + a R(w)`` (SGDRegressor/SGDClassifier): ``a``
``sklearn-mlp``            batch mean loss ``+ a/(2 B) ||W||^2`` (B = batch size): ``a/B``
``glmnet``                 ``1/(2n) ||y - Xw||^2 + lambda (a ||w||_1 + (1-a)/2 ||w||^2)``
                           on y scaled to unit variance (gaussian family, see below)
``keras-l2``               ``mean loss + f sum w^2``: ``2 f`` (``f`` with Keras "mse")
``keras-l1``               ``mean loss + f sum |w|``: ``f`` (``f / 2`` with Keras "mse")
``torch-weight-decay``     ``SGD(weight_decay=d)`` (or Adam's coupled decay): gradient
                           ``+ d w``: ``d`` (``d / 2`` with ``nn.MSELoss``)
``tutorial``               ``J = 1/(2n) sum (y - h)^2 + lambda/(2n) sum W^2``: ``lambda/n``
=========================  ===============================================================

**glmnet standardizes y** for ``family = "gaussian"``: it fits on ``y / s_y``
(``s_y`` the standard deviation with the ``1/n`` formula) with ``lambda / s_y``
and scales the coefficients back. The L1 part is unchanged by this, the L2
part is divided by ``s_y``: glmnet's ``(lambda, a)`` is our
``l1_part = lambda a``, ``l2_part = lambda (1 - a) / s_y``. For pure lasso
(``a = 1``) or ``family = "binomial"`` (no ``y`` scaling) it is simply
``alpha = lambda``. glmnet also standardizes X by default
(``standardize = TRUE``); ``penalized fit`` does the same, so its alpha is in
glmnet's standardized-X terms.

**Keras and PyTorch regression losses are not halved**: ``"mse"`` and
``nn.MSELoss()`` are ``mean (y - z)^2``, twice our ``(y - z)^2 / 2``. Dividing
their objective by 2 halves their penalty, hence the ``/ 2`` above
(``datafit="leastsquares"``); their cross-entropies equal our logistic loss
(``datafit="logistic"``).

**AdamW has no fixed equivalent.** Its decoupled decay ``w <- w - lr d w`` is
applied outside the adaptive step, so at a fixed point
``m_hat / (sqrt(v_hat) + eps) = -d w``: the gradient of the loss is balanced
against ``d w`` *rescaled per coordinate by Adam's running second moments*,
which change with the data, the iterate and the schedule (and the decay per
step is ``lr d``, tied to the learning rate). No single alpha of a fixed
objective reproduces it; use ``torch.optim.Adam(weight_decay=d)`` (coupled, an
L2 penalty) or this library's proximal optimizer for a penalty with a fixed
meaning.

Examples
--------
>>> from penalized import conventions
>>> conventions.to_penalized("sklearn-ridge", 1.0, n_samples=442).alpha
0.0022624434389140274
>>> conventions.from_penalized("sklearn-logistic-c", 0.01, n_samples=100)
1.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = ["CONVENTIONS", "Context", "Convention", "Converted", "convert", "convert_all",
           "from_penalized", "glmnet_mixing", "to_penalized"]

ADAMW_NOTE = (
    "AdamW's decoupled weight decay has no fixed alpha equivalent: the decay w <- w - lr*d*w "
    "is applied outside Adam's per-coordinate scaling, so its balance with the loss gradient "
    "depends on the running second moments and the learning-rate schedule. Use "
    "torch.optim.Adam(weight_decay=d) or SGD(weight_decay=d) (coupled L2, convertible) or "
    "penalized.torch's proximal optimizer."
)


@dataclasses.dataclass(frozen=True)
class Context:
    """What some conversions need besides the strength itself.

    Attributes
    ----------
    n_samples : int or None
        Rows in the training data (sklearn Ridge, LogisticRegression C, tutorial).
    l1_ratio : float
        Mixing of L1 and L2 (``r`` in ours and scikit-learn, ``alpha`` in glmnet).
    y_std : float
        Standard deviation of y with the 1/n formula (glmnet, gaussian family).
    datafit : {"leastsquares", "logistic"}
        Changes Keras and PyTorch factors (their MSE is not halved).
    batch_size : int or None
        scikit-learn MLP batch size (``"auto"`` is ``min(200, n_samples)``).
    """

    n_samples: int | None = None
    l1_ratio: float = 0.0
    y_std: float = 1.0
    datafit: str = "leastsquares"
    batch_size: int | None = None

    def __post_init__(self):
        if self.n_samples is not None and (isinstance(self.n_samples, bool)
                                           or int(self.n_samples) != self.n_samples
                                           or self.n_samples < 1):
            raise ValueError(f"n_samples must be a positive integer, got {self.n_samples!r}")
        if not 0.0 <= float(self.l1_ratio) <= 1.0:
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        if not (np.isfinite(self.y_std) and self.y_std > 0):
            raise ValueError(f"y_std must be a positive number, got {self.y_std!r}")
        if self.datafit not in ("leastsquares", "logistic"):
            raise ValueError(
                f"datafit must be 'leastsquares' or 'logistic', got {self.datafit!r}")
        if self.batch_size is not None and (int(self.batch_size) != self.batch_size
                                            or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")

    def need_n(self, who: str) -> int:
        if self.n_samples is None:
            raise ValueError(f"{who} depends on the number of samples: give n_samples "
                             "(--n-samples on the command line)")
        return int(self.n_samples)

    @property
    def mse_factor(self) -> float:
        """Their data term divided by ours (2 for an unhalved mean squared error)."""
        return 2.0 if self.datafit == "leastsquares" else 1.0


@dataclasses.dataclass(frozen=True)
class Converted:
    """A strength in this library's terms: ``alpha * (r ||w||_1 + (1 - r) ||w||^2 / 2)``."""

    alpha: float
    l1_ratio: float

    @property
    def l1_part(self) -> float:
        return self.alpha * self.l1_ratio

    @property
    def l2_part(self) -> float:
        return self.alpha * (1.0 - self.l1_ratio)


@dataclasses.dataclass(frozen=True)
class Convention:
    """One library's meaning of its penalty strength.

    ``to_parts(value, ctx) -> (l1_part, l2_part)`` in our objective;
    ``from_parts(l1_part, l2_part, ctx) -> value`` (raises ValueError when the
    convention cannot express that mix, e.g. an L1 part in Ridge).
    """

    name: str
    parameter: str
    description: str
    kind: str  # "l1", "l2" or "enet": which parts it can express
    to_parts: Callable[[float, Context], tuple[float, float]]
    from_parts: Callable[[float, float, Context], float]
    #: datafits the other library uses this strength with
    datafits: tuple[str, ...] = ("leastsquares", "logistic")


def _enet_split(total: float, ctx: Context) -> tuple[float, float]:
    return total * ctx.l1_ratio, total * (1.0 - ctx.l1_ratio)


def _enet_total(l1: float, l2: float, ctx: Context, who: str) -> float:
    # scikit-learn's l1_ratio is ours: from_penalized passes the mix in ``ctx``
    return l1 + l2


def _only(part: str, l1: float, l2: float, who: str) -> float:
    other, value = (l2, l1) if part == "l1" else (l1, l2)
    if other != 0:
        missing = "an L2 (ridge) part" if part == "l1" else "an L1 (lasso) part"
        raise ValueError(f"{who} cannot express {missing}")
    return value


def _glmnet_to(lam: float, ctx: Context) -> tuple[float, float]:
    return lam * ctx.l1_ratio, lam * (1.0 - ctx.l1_ratio) / ctx.y_std


def _glmnet_from(l1: float, l2: float, ctx: Context) -> float:
    # lambda * a = l1 and lambda * (1 - a) = l2 * y_std (see glmnet_mixing for a)
    return l1 + l2 * ctx.y_std


def glmnet_mixing(l1_ratio: float, y_std: float = 1.0) -> float:
    """glmnet's ``alpha`` (mixing) for our ``l1_ratio`` once y is scaled by ``y_std``.

    Equal to ``l1_ratio`` when ``y_std == 1`` or for pure L1 / pure L2.
    """
    l1, l2 = float(l1_ratio), 1.0 - float(l1_ratio)
    return l1 / (l1 + l2 * float(y_std)) if l1 + l2 * y_std > 0 else 0.0


def _mlp_batch(ctx: Context) -> int:
    if ctx.batch_size is not None:
        return int(ctx.batch_size)
    return min(200, ctx.need_n("sklearn-mlp (batch_size='auto' is min(200, n_samples))"))


_LIST = [
    Convention("penalized", "alpha", "this library: (1/n) sum loss + alpha P(w)", "enet",
               _enet_split, lambda l1, l2, c: _enet_total(l1, l2, c, "penalized")),
    Convention("sklearn-lasso", "alpha", "sklearn.linear_model.Lasso(alpha)", "l1",
               lambda a, c: (a, 0.0), lambda l1, l2, c: _only("l1", l1, l2, "Lasso"),
               ("leastsquares",)),
    Convention("sklearn-elasticnet", "alpha",
               "sklearn.linear_model.ElasticNet(alpha, l1_ratio)", "enet",
               _enet_split, lambda l1, l2, c: _enet_total(l1, l2, c, "ElasticNet"),
               ("leastsquares",)),
    Convention("sklearn-ridge", "alpha", "sklearn.linear_model.Ridge(alpha): alpha = a / n",
               "l2", lambda a, c: (0.0, a / c.need_n("sklearn-ridge")),
               lambda l1, l2, c: _only("l2", l1, l2, "Ridge") * c.need_n("sklearn-ridge"),
               ("leastsquares",)),
    Convention("sklearn-logistic-c", "C",
               "sklearn.linear_model.LogisticRegression(C, l1_ratio): alpha = 1 / (n C)", "enet",
               lambda C, c: _enet_split(1.0 / (c.need_n("LogisticRegression C") * C), c),
               lambda l1, l2, c: 1.0 / (c.need_n("LogisticRegression C")
                                        * _enet_total(l1, l2, c, "LogisticRegression")),
               ("logistic",)),
    Convention("sklearn-sgd", "alpha",
               "sklearn SGDRegressor/SGDClassifier(alpha, penalty, l1_ratio)", "enet",
               _enet_split, lambda l1, l2, c: _enet_total(l1, l2, c, "SGD")),
    Convention("sklearn-mlp", "alpha",
               "sklearn MLPRegressor/MLPClassifier(alpha): alpha / batch_size", "l2",
               lambda a, c: (0.0, a / _mlp_batch(c)),
               lambda l1, l2, c: _only("l2", l1, l2, "MLP alpha") * _mlp_batch(c)),
    Convention("glmnet", "lambda",
               "R glmnet(lambda, alpha=l1_ratio); gaussian family fits y / y_std", "enet",
               _glmnet_to, _glmnet_from),
    Convention("keras-l2", "l2",
               "keras.regularizers.L2(l2): adds l2 * sum(w^2)", "l2",
               lambda f, c: (0.0, 2.0 * f / c.mse_factor),
               lambda l1, l2, c: _only("l2", l1, l2, "Keras L2") * c.mse_factor / 2.0),
    Convention("keras-l1", "l1",
               "keras.regularizers.L1(l1): adds l1 * sum(|w|)", "l1",
               lambda f, c: (f / c.mse_factor, 0.0),
               lambda l1, l2, c: _only("l1", l1, l2, "Keras L1") * c.mse_factor),
    Convention("torch-weight-decay", "weight_decay",
               "torch.optim.SGD/Adam(weight_decay=d): gradient + d * w (not AdamW)", "l2",
               lambda d, c: (0.0, d / c.mse_factor),
               lambda l1, l2, c: _only("l2", l1, l2, "weight_decay") * c.mse_factor),
    Convention("tutorial", "lambda",
               "J = 1/(2n) sum (y - h)^2 + lambda/(2n) sum W^2: alpha = lambda / n", "l2",
               lambda lam, c: (0.0, lam / c.need_n("tutorial lambda/(2n)")),
               lambda l1, l2, c: _only("l2", l1, l2, "tutorial") * c.need_n("tutorial"),
               ("leastsquares",)),
]

#: name -> :class:`Convention`; the CLI's ``convert --from/--to`` choices.
CONVENTIONS: dict[str, Convention] = {c.name: c for c in _LIST}


def _get(name: str) -> Convention:
    key = name.strip().lower()
    if key in ("torch-adamw", "adamw"):
        raise ValueError(ADAMW_NOTE)
    if key not in CONVENTIONS:
        raise ValueError(f"unknown convention {name!r}; choose from {', '.join(CONVENTIONS)}")
    return CONVENTIONS[key]


def _check_value(value: float, name: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0 or (name == "sklearn-logistic-c" and value == 0):
        raise ValueError(f"the {name} strength must be a finite number "
                         f"{'> 0' if name == 'sklearn-logistic-c' else '>= 0'}, got {value!r}")
    return value


def to_penalized(name: str, value: float, **context) -> Converted:
    """Convert another library's strength to ``(alpha, l1_ratio)`` here.

    Parameters
    ----------
    name : str
        A key of :data:`CONVENTIONS` (``"sklearn-ridge"``, ``"glmnet"``, ...).
    value : float
        Its strength (``alpha``, ``C``, ``lambda``, ``weight_decay``...).
    **context
        Fields of :class:`Context`: ``n_samples``, ``l1_ratio`` (the mix in the
        source's own terms: glmnet's ``alpha`` for glmnet), ``y_std``,
        ``datafit``, ``batch_size``.

    Returns
    -------
    Converted
        ``alpha`` and ``l1_ratio`` in this library's objective.
    """
    ctx = Context(**context)
    l1, l2 = _get(name).to_parts(_check_value(value, name), ctx)
    total = l1 + l2
    return Converted(alpha=float(total), l1_ratio=float(l1 / total) if total > 0
                     else float(ctx.l1_ratio))


def from_penalized(name: str, alpha: float, l1_ratio: float | None = None, **context) -> float:
    """Express this library's ``alpha`` (with ``l1_ratio``) in another convention.

    ``l1_ratio`` (ours; defaults to the context's, 0 = ridge) must be a mix the
    target can express, else ValueError. scikit-learn's ``l1_ratio`` is ours;
    glmnet's mixing is :func:`glmnet_mixing` of it (they differ when ``y_std != 1``).
    """
    ctx = Context(**context)
    r = ctx.l1_ratio if l1_ratio is None else float(l1_ratio)
    ctx = dataclasses.replace(ctx, l1_ratio=r)
    alpha = _check_value(alpha, "penalized")
    conv = _get(name)
    value = conv.from_parts(alpha * r, alpha * (1.0 - r), ctx)
    return float(value)


def convert(value: float, from_: str, to: str, **context) -> float:
    """Convert a strength from one convention to another (through this library's).

    Examples
    --------
    >>> from penalized import conventions
    >>> conventions.convert(1.0, "sklearn-ridge", "tutorial", n_samples=442)
    1.0
    """
    c = to_penalized(from_, value, **context)
    rest = {k: v for k, v in context.items() if k != "l1_ratio"}
    return from_penalized(to, c.alpha, c.l1_ratio, **rest)


def convert_all(value: float, from_: str, **context) -> dict[str, float | str]:
    """Every convention's value for one strength; a reason string where none exists.

    Conventions that do not apply to the context's datafit (Ridge for a
    logistic model, LogisticRegression's C for least squares) are left out.
    """
    c = to_penalized(from_, value, **context)
    rest = {k: v for k, v in context.items() if k != "l1_ratio"}
    out: dict[str, float | str] = {}
    datafit = context.get("datafit", "leastsquares")
    for name, conv in CONVENTIONS.items():
        if datafit not in conv.datafits:
            continue
        try:
            out[name] = from_penalized(name, c.alpha, c.l1_ratio, **rest)
        except ValueError as exc:
            out[name] = f"n/a: {exc}"
    out["torch-adamw"] = "n/a: " + ADAMW_NOTE.split(":")[0]
    return out
