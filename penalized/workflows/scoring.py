r"""Scores for cross-validation, vectorized over a whole path of fits.

Every scorer takes the datafit, the target in the datafit's internal coding
(``Problem.y``: real values, ``-1/+1`` for :class:`~penalized.Logistic`, class
indices for a multiclass datafit), the linear predictors of many fits at once
and the sample weights, and returns one score per fit:

* ``Z`` of shape (n_samples, n_fits) for a single-output datafit, or
  (n_samples, n_fits, n_classes) for a multiclass one (``datafit.multiclass``);
  a 1-D ``z`` of shape (n_samples,) gives a scalar.

Scores are weighted means over the samples (weights ``s``, any positive scale):

``mse``       :math:`\sum_i s_i (y_i - \mu_i)^2 / \sum_i s_i`, with ``mu`` the mean
              response (for classification the predicted probabilities and a
              one-hot target: the Brier score).
``mae``       :math:`\sum_i s_i |y_i - \mu_i| / \sum_i s_i`.
``deviance``  twice the mean negative log-likelihood (glmnet's default); for least
              squares the mean squared error. For a single-output datafit, twice its
              mean loss (every loss here is 0 at the saturated model): the Poisson
              deviance for :class:`~penalized.Poisson`.
``poisson_deviance`` :math:`2 \sum_i s_i (y_i \log(y_i / \mu_i) - y_i + \mu_i) / \sum_i s_i`
              (scikit-learn's ``mean_poisson_deviance``) of the mean response; the
              default for :class:`~penalized.Poisson` (``Datafit.default_scoring``).
``log_loss``  the mean negative log-likelihood (classification).
``accuracy``  weighted fraction of correct labels (greater is better).
``auc``       weighted area under the ROC curve (binary; greater is better).
``class``     weighted misclassification error, ``1 - accuracy`` (glmnet's
              ``type.measure = "class"``).

scikit-learn's scorer names are understood too, with scikit-learn's sign (greater
is better): ``neg_mean_squared_error``, ``neg_mean_absolute_error``,
``neg_log_loss``, ``roc_auc`` and ``r2`` are computed here (vectorized, weighted);
any other name of :func:`sklearn.metrics.get_scorer`, and any callable
``scorer(estimator, X, y)``, is called once per fit on a fitted linear model
(:class:`LinearSnapshot`) and the validation rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy.special import expit, log_softmax, softmax

from ..core.datafits import Datafit, Poisson


def _n_outputs(datafit: Datafit) -> int:
    """2 or more for a multiclass datafit (its declared capability), else 1."""
    return 2 if datafit.multiclass else 1


def _weighted_mean(values: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Weighted mean over axis 0 (samples)."""
    s = s / s.sum()
    return np.tensordot(s, values, axes=(0, 0))


def _probabilities(datafit: Datafit, Z: np.ndarray) -> np.ndarray:
    """Mean response (regression) or class probabilities (shape of Z)."""
    if datafit.task == "regression":
        return datafit.inverse_link(Z)
    if _n_outputs(datafit) > 1:
        return softmax(Z, axis=-1)
    return expit(Z)


def _target_like(datafit: Datafit, y: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """The target on the scale of :func:`_probabilities`, broadcastable to Z."""
    if datafit.task == "regression":
        return y.reshape((-1,) + (1,) * (Z.ndim - 1))
    if _n_outputs(datafit) > 1:
        onehot = np.zeros((y.shape[0], Z.shape[-1]))
        onehot[np.arange(y.shape[0]), y.astype(int)] = 1.0
        return onehot[:, None, :] if Z.ndim == 3 else onehot
    return (y > 0).astype(float).reshape((-1,) + (1,) * (Z.ndim - 1))


def _squared_error(datafit, y, Z, s):
    err = (_target_like(datafit, y, Z) - _probabilities(datafit, Z)) ** 2
    if _n_outputs(datafit) > 1:
        err = err.sum(axis=-1)
    return _weighted_mean(err, s)


def _absolute_error(datafit, y, Z, s):
    err = np.abs(_target_like(datafit, y, Z) - _probabilities(datafit, Z))
    if _n_outputs(datafit) > 1:
        err = err.sum(axis=-1)
    return _weighted_mean(err, s)


def _negative_log_likelihood(datafit, y, Z, s):
    if _n_outputs(datafit) > 1:
        logp = log_softmax(Z, axis=-1)
        idx = y.astype(int)
        if Z.ndim == 3:
            nll = -logp[np.arange(y.shape[0]), :, idx]
        else:
            nll = -logp[np.arange(y.shape[0]), idx]
        return _weighted_mean(nll, s)
    yy = y.reshape((-1,) + (1,) * (Z.ndim - 1))
    return _weighted_mean(np.logaddexp(0.0, -yy * Z), s)


def _deviance(datafit, y, Z, s):
    if _n_outputs(datafit) > 1:
        return 2.0 * _negative_log_likelihood(datafit, y, Z, s)
    yy = y.reshape((-1,) + (1,) * (Z.ndim - 1))
    return _weighted_mean(2.0 * datafit.loss(yy, Z), s)


def _poisson_deviance(datafit, y, Z, s):
    """Of the mean response ``mu``, whatever the datafit: twice the Poisson loss (the
    unit half deviance) at ``log mu``; infinite where ``mu <= 0``."""
    yy = y.reshape((-1,) + (1,) * (Z.ndim - 1))
    mu = _probabilities(datafit, Z)
    positive = mu > 0
    unit = 2.0 * Poisson().loss(yy, np.log(np.where(positive, mu, 1.0)))
    return _weighted_mean(np.where(positive, unit, np.inf), s)


def _accuracy(datafit, y, Z, s):
    if _n_outputs(datafit) > 1:
        correct = np.argmax(Z, axis=-1) == (y.astype(int)[:, None] if Z.ndim == 3
                                            else y.astype(int))
    else:
        yy = y.reshape((-1,) + (1,) * (Z.ndim - 1))
        correct = (Z > 0) == (yy > 0)
    return _weighted_mean(correct.astype(float), s)


def _auc(datafit, y, Z, s):
    """Weighted AUC by the rank-sum formula (ties count one half), per column."""
    positive = y > 0
    if positive.all() or not positive.any():
        raise ValueError("AUC needs both classes in every validation fold; use a "
                         "stratified splitter (e.g. StratifiedKFold) or another scoring")
    columns = Z.reshape(Z.shape[0], -1) if Z.ndim > 1 else Z[:, None]
    w_pos, w_neg = s * positive, s * ~positive
    out = np.empty(columns.shape[1])
    for k in range(columns.shape[1]):
        order = np.argsort(columns[:, k], kind="mergesort")
        z_sorted = columns[order, k]
        neg_sorted = w_neg[order]
        # weight of negatives strictly below, and tied with, each sample
        starts = np.searchsorted(z_sorted, z_sorted, side="left")
        ends = np.searchsorted(z_sorted, z_sorted, side="right")
        total_neg = np.concatenate([[0.0], np.cumsum(neg_sorted)])
        below = total_neg[starts]
        tied = total_neg[ends] - total_neg[starts]
        out[k] = np.sum(w_pos[order] * (below + 0.5 * tied))
    out /= w_pos.sum() * w_neg.sum()
    return out.reshape(Z.shape[1:]) if Z.ndim > 1 else float(out[0])


def _misclassification(datafit, y, Z, s):
    return 1.0 - _accuracy(datafit, y, Z, s)


def _r2(datafit, y, Z, s):
    """Weighted coefficient of determination (scikit-learn's ``r2_score``)."""
    total = _weighted_mean((y - _weighted_mean(y, s)) ** 2, s)
    return 1.0 - _squared_error(datafit, y, Z, s) / total


def _mse_from_moments(mse, variance):
    return mse


def _negated_mse_from_moments(mse, variance):
    return -mse


def _r2_from_moments(mse, variance):
    """:func:`_r2` from the rows' mean squared error and the weighted variance of y."""
    return 1.0 - mse / variance


def _negated(function):
    def negative(datafit, y, Z, s):
        return -function(datafit, y, Z, s)
    return negative


@dataclasses.dataclass(frozen=True)
class Scorer:
    """A named score: ``function(datafit, y, Z, sample_weight) -> scores``.

    With ``uses_data`` (a scikit-learn scorer) ``function`` is instead
    ``function(estimator, X, y_labels, sample_weight)`` for one fit, called by
    :func:`score_fits`.
    """

    name: str
    greater_is_better: bool
    #: "any", "classification", "binary" or "regression"
    requires: str
    function: Callable
    uses_data: bool = False
    #: a weighted mean over the rows of one value per row (so a sum over row blocks)
    row_mean: bool = False
    #: for least squares, the score as ``moment_form(mse, variance of y)`` of the rows
    #: (weighted): what the sufficient-statistics route can compute (None: it cannot)
    moment_form: Callable | None = None

    def __call__(self, datafit: Datafit, y, Z, sample_weight=None):
        y = np.asarray(y)
        Z = np.asarray(Z, dtype=float)
        s = np.ones(y.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        result = self.function(datafit, y, Z, s)
        return float(result) if np.ndim(result) == 0 else np.asarray(result)

    def sign(self) -> float:
        """+1 when lower is better (a loss), -1 otherwise: ``sign * score`` is minimized."""
        return -1.0 if self.greater_is_better else 1.0


SCORERS: dict[str, Scorer] = {
    sc.name: sc for sc in (
        Scorer("mse", False, "any", _squared_error, row_mean=True,
               moment_form=_mse_from_moments),
        Scorer("mae", False, "any", _absolute_error, row_mean=True),
        Scorer("deviance", False, "any", _deviance, row_mean=True),
        Scorer("log_loss", False, "classification", _negative_log_likelihood, row_mean=True),
        Scorer("accuracy", True, "classification", _accuracy, row_mean=True),
        Scorer("auc", True, "binary", _auc),
        Scorer("class", False, "classification", _misclassification, row_mean=True),
        Scorer("poisson_deviance", False, "regression", _poisson_deviance, row_mean=True),
    )
}

#: scikit-learn's names of the scores computed here, with scikit-learn's sign
SKLEARN_SCORERS: dict[str, Scorer] = {
    sc.name: sc for sc in (
        Scorer("neg_mean_squared_error", True, "any", _negated(_squared_error), row_mean=True,
               moment_form=_negated_mse_from_moments),
        Scorer("neg_mean_absolute_error", True, "any", _negated(_absolute_error), row_mean=True),
        Scorer("neg_log_loss", True, "classification", _negated(_negative_log_likelihood),
               row_mean=True),
        Scorer("roc_auc", True, "binary", _auc),
        Scorer("r2", True, "regression", _r2, moment_form=_r2_from_moments),
    )
}


def default_scoring(datafit: Datafit) -> str:
    """The datafit's own default (``Datafit.default_scoring``), else glmnet's: ``mse``
    for regression, ``deviance`` for classification."""
    if datafit.default_scoring:
        return datafit.default_scoring
    return "mse" if datafit.task == "regression" else "deviance"


def get_scorer(scoring: str | Scorer | None, datafit: Datafit) -> Scorer:
    """Look up a scorer by name and check that it fits the datafit."""
    if scoring is None:
        scoring = default_scoring(datafit)
    if isinstance(scoring, Scorer):
        scorer = scoring
    elif isinstance(scoring, str) and scoring in SCORERS:
        scorer = SCORERS[scoring]
    elif isinstance(scoring, str) and scoring in SKLEARN_SCORERS:
        scorer = SKLEARN_SCORERS[scoring]
    else:
        scorer = _sklearn_scorer(scoring)
    if scorer.requires == "regression" and datafit.task != "regression":
        raise ValueError(f"scoring={scorer.name!r} needs a regression datafit, "
                         f"got {type(datafit).__name__}")
    if scorer.requires in ("classification", "binary") and datafit.task != "classification":
        raise ValueError(f"scoring={scorer.name!r} needs a classification datafit, "
                         f"got {type(datafit).__name__}")
    if scorer.requires == "binary" and _n_outputs(datafit) > 1:
        raise ValueError(f"scoring={scorer.name!r} is for two classes; "
                         f"{type(datafit).__name__} is multiclass")
    return scorer


def _sklearn_scorer(scoring) -> Scorer:
    """Any other scikit-learn scorer name, or a callable ``scorer(estimator, X, y)``."""
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    if callable(scoring):
        name = getattr(scoring, "__name__", None) or repr(scoring)
        function = scoring
    elif isinstance(scoring, str):
        try:
            function = sklearn_get_scorer(scoring)
        except ValueError:
            raise ValueError(
                f"unknown scoring {scoring!r}; choose from "
                + ", ".join(repr(k) for k in (*SCORERS, *SKLEARN_SCORERS))
                + ", another scikit-learn scorer name, or a callable "
                "scorer(estimator, X, y)") from None
        name = scoring
    else:
        raise ValueError(f"scoring must be a name or a callable, got {scoring!r}")
    return Scorer(str(name), True, "any", function, uses_data=True)


class LinearSnapshot:
    """One fitted linear model, enough for a scikit-learn scorer to call
    ``predict``, ``decision_function`` and ``predict_proba`` on it."""

    def __init__(self, datafit: Datafit, coef, intercept, classes):
        self.datafit, self.coef_, self.intercept_ = datafit, coef, intercept
        self.classes_ = classes
        self._estimator_type = "classifier" if classes is not None else "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        tags = Tags(estimator_type=self._estimator_type,
                    target_tags=TargetTags(required=True))
        if self.classes_ is None:
            tags.regressor_tags = RegressorTags()
        else:
            tags.classifier_tags = ClassifierTags()
        return tags

    def decision_function(self, X):
        z = np.asarray(X @ self.coef_) + self.intercept_
        return z if z.ndim == 2 else z.ravel()

    def predict_proba(self, X):
        p = _probabilities(self.datafit, self.decision_function(X))
        return p if p.ndim == 2 else np.column_stack([1.0 - p, p])

    def predict(self, X):
        z = self.decision_function(X)
        if self.classes_ is None:
            return self.datafit.inverse_link(z)
        return self.classes_[np.argmax(z, axis=1) if z.ndim == 2 else (z > 0).astype(int)]


def labels(datafit: Datafit, y: np.ndarray, classes) -> np.ndarray:
    """The user's labels of a target in the datafit's internal coding."""
    if classes is None:
        return y
    if datafit.multiclass:
        return np.asarray(classes)[y.astype(int)]
    return np.asarray(classes)[(y > 0).astype(int)]


def score_fits(scorer: Scorer, datafit: Datafit, X, y, sample_weight, coefs, intercepts,
               classes) -> np.ndarray:
    """A scikit-learn scorer (``scorer.uses_data``) on every fit of a path: ``X`` and
    ``y`` (internal coding) are the validation rows; one score per fit. Weights reach
    the scorer only when they are not all equal."""
    y_labels = labels(datafit, np.asarray(y), classes)
    s = np.asarray(sample_weight, dtype=float)
    extra = {} if np.all(s == s[0]) else {"sample_weight": s}
    out = np.empty(coefs.shape[0])
    for k in range(coefs.shape[0]):
        model = LinearSnapshot(datafit, coefs[k], intercepts[k], classes)
        out[k] = scorer.function(model, X, y_labels, **extra)
    return out
