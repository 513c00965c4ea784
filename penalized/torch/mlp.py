r"""Penalized multi-layer perceptrons with the scikit-learn API.

Objective (the convention of the whole package, on the mean loss):

.. math::  \frac{1}{n}\sum_i \ell(y_i, f_W(x_i)) + \alpha \sum_{\text{layers}} P(W_k)

with softmax cross-entropy (classifier) or ``||y - f||^2 / 2`` (regressor), biases
unpenalized. Non-smooth penalties (L1, elastic net) go through the proximal step of
:class:`ProximalOptimizer` in the optimizer's own metric, which yields exact zeros;
smooth ones (L2) through the gradient.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from .penalties import penalty_value, resolve_penalty, select_parameters
from .training import (
    ACTIVATIONS,
    OPTIMIZERS,
    CollapsedNetworkWarning,
    Standardize,
    build_network,
    check_finite,
    choose_threads,
    collapsed_layers,
    feature_moments,
    make_optimizer,
    resolve_device,
    run_epoch,
    torch_threads,
    zero_fraction,
)

OPTIMIZER_NAMES = tuple(OPTIMIZERS)
PENALTY_METHODS = ("auto", "proximal", "loss")
#: Per-epoch entries of ``history_``.
HISTORY_KEYS = ("epoch", "train_loss", "objective", "validation_loss", "validation_score",
                "zero_fraction")


class _BaseMLP(BaseEstimator):
    """Shared fit / predict machinery; subclasses define the loss, target and score."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", penalty="l2", alpha=1e-4,
                 penalty_method="auto", optimizer="adam", learning_rate=1e-3, momentum=0.9,
                 batch_size=200, max_epochs=200, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, standardize=True,
                 warm_start=False, random_state=None, device="cpu", verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.penalty = penalty
        self.alpha = alpha
        self.penalty_method = penalty_method
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ---- validation ----------------------------------------------------------
    def _check_params(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        if any(not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes!r}")
        for name, choices in (("activation", sorted(ACTIVATIONS)), ("optimizer", OPTIMIZER_NAMES),
                              ("penalty_method", PENALTY_METHODS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        for name in ("learning_rate", "tol"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name in ("batch_size", "max_epochs", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.early_stopping and not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not isinstance(self.standardize, bool | np.bool_):
            raise ValueError(f"standardize must be True or False, got {self.standardize!r}")
        if self.penalty is None:
            return sizes, None
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, numbers.Real):
            raise TypeError(f"alpha must be a number, got {type(self.alpha).__name__}")
        penalty = resolve_penalty(self.penalty, float(self.alpha))
        if penalty.positive and self.penalty_method == "loss":
            raise ValueError("positive=True needs the proximal step: penalty_method='loss' "
                             "cannot keep weights non-negative")
        if penalty.unit_groups and penalty.include_bias:
            raise ValueError("the MLP leaves biases unpenalized: use NeuronGroupLasso() "
                             "(include_bias=False); a zeroed unit's constant output is folded "
                             "by penalized.torch.prune")
        return sizes, penalty

    def _penalty_routes(self, penalty):
        """``(prox, weight_decay, loss_penalty)``: where the penalty enters training.

        The proximal step for a non-smooth or constrained penalty (or when asked); for
        ``alpha ||W||^2 / 2`` the gradient ``alpha W``, as the optimizer's coupled
        ``weight_decay`` on the penalized weights (the same update as the loss term,
        without the term's forward and backward operations on every batch); otherwise a
        differentiable loss term.
        """
        if penalty is None:
            return None, 0.0, None
        gradient = penalty.smooth and not penalty.positive
        if self.penalty_method == "proximal" or (self.penalty_method == "auto" and not gradient):
            return penalty, 0.0, None
        if gradient and penalty.ratio == 0.0 and OPTIMIZERS[self.optimizer].couples_weight_decay:
            return None, float(penalty.alpha), None
        return None, 0.0, penalty

    # ---- training ------------------------------------------------------------
    def fit(self, X, y):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        sizes, penalty = self._check_params()
        continuing = self._continuing()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=self._multi_output,
                             y_numeric=not self._classifier, reset=not continuing)
        if X.shape[0] < 2:
            raise ValueError(f"n_samples={X.shape[0]}: training needs at least 2 samples")
        target = self._prepare_target(y)
        device = resolve_device(self.device)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator().manual_seed(int(seed))
        if continuing and (self.feature_mean_ is not None) != bool(self.standardize):
            raise ValueError("warm_start: standardize differs from the first fit's")
        # Trained as a copy, stored only when training succeeded: a fit that raises (a
        # divergence) leaves the estimator as it was, never with NaN weights.
        if continuing:
            moments, module = (self.feature_mean_, self.feature_scale_), copy.deepcopy(self.module_)
        else:
            moments = feature_moments(X) if self.standardize else (None, None)
            module = self._build(X.shape[1], sizes, moments, generator)
        module = module.to(device)
        input_layer, network = module[0], module[1]
        batch = min(int(self.batch_size), X.shape[0])
        threads = choose_threads([X.shape[1], *sizes, self._n_outputs], batch, device)
        with torch_threads(threads), torch.no_grad():
            x = input_layer(torch.as_tensor(X, dtype=torch.float32, device=device))
        data = self._split(x, torch.as_tensor(target, device=device), seed)
        with torch_threads(threads):
            self._train(network, penalty, data, batch, generator)
        self.feature_mean_, self.feature_scale_ = moments
        self.module_ = module
        self.penalty_ = penalty
        self.device_ = device
        self._set_coefficients(network)
        return self

    def _build(self, n_inputs, sizes, moments, generator) -> nn.Sequential:
        """``Sequential(input layer, network)``: Standardize (or Identity), then the MLP."""
        network = build_network(n_inputs, sizes, self._n_outputs, self.activation, generator)
        if moments[0] is None:
            return nn.Sequential(nn.Identity(), network)
        return nn.Sequential(Standardize(*moments), network)

    def _split(self, x, t, seed):
        """``((x_train, t_train), validation or None)``: the early-stopping hold-out."""
        if not self.early_stopping:
            return (x, t), None
        index = np.arange(x.shape[0])
        stratify = t.cpu().numpy() if self._classifier else None
        train, val = train_test_split(index, test_size=self.validation_fraction,
                                      random_state=seed % (2**31), stratify=stratify)
        train, val = torch.as_tensor(train, device=x.device), torch.as_tensor(val, device=x.device)
        return (x[train], t[train]), (x[val], t[val])

    def _continuing(self) -> bool:
        return bool(self.warm_start) and hasattr(self, "module_")

    def _train(self, network, penalty, data, batch, generator):
        prox, weight_decay, loss_penalty = self._penalty_routes(penalty)
        weights = select_parameters(network)
        optimizer = make_optimizer(self.optimizer, network, weights, float(self.learning_rate),
                                   float(self.momentum), weight_decay, prox)
        (x, t), validation = data
        history = {key: [] for key in HISTORY_KEYS}
        best, best_epoch, best_state, converged = -np.inf, 0, None, False
        for epoch in range(1, int(self.max_epochs) + 1):
            train_loss = run_epoch(network, optimizer, self._loss, loss_penalty, weights, x, t,
                                   batch, generator)
            check_finite(train_loss, network, epoch,
                         f"optimizer={self.optimizer!r}, learning_rate={self.learning_rate:g}")
            self._record(history, epoch, train_loss, network, weights, penalty, validation)
            # Stop after n_iter_no_change epochs without an improvement larger than tol
            # (validation score with early stopping, training objective otherwise).
            criterion = (history["validation_score"][-1] if validation is not None
                         else -history["objective"][-1])
            if criterion > best + self.tol:
                best, best_epoch = criterion, epoch
                if validation is not None:
                    best_state = copy.deepcopy(network.state_dict())
            elif epoch - best_epoch >= self.n_iter_no_change:
                converged = True
                break
        if best_state is not None:  # early stopping keeps the best validated weights
            network.load_state_dict(best_state)
        self._set_history(history, best_epoch, converged, validation is not None)
        self._warn(converged, weights, penalty)

    def _record(self, history, epoch, train_loss, network, weights, penalty, validation):
        with torch.no_grad():
            penalty_term = 0.0 if penalty is None else float(penalty_value(weights, penalty))
        val_loss, val_score = (math.nan, math.nan) if validation is None else \
            self._evaluate(network, *validation)
        for key, value in zip(HISTORY_KEYS, (epoch, train_loss, train_loss + penalty_term,
                                             val_loss, val_score, zero_fraction(weights)),
                              strict=True):
            history[key].append(value)
        if self.verbose:
            print(f"epoch {epoch}: train loss {train_loss:.5f}, validation loss {val_loss:.5f}, "
                  f"validation score {val_score:.4f}, zeros {history['zero_fraction'][-1]:.3f}")

    def _set_history(self, history, best_epoch, converged, validated):
        self.history_ = history
        self.n_iter_ = len(history["epoch"])
        self.best_epoch_ = best_epoch
        self.converged_ = converged
        # scikit-learn's names: the loss it reports includes the penalty (our "objective")
        self.loss_curve_ = list(history["objective"])
        self.validation_scores_ = list(history["validation_score"]) if validated else None
        self.best_validation_score_ = max(history["validation_score"]) if validated else None
        self.best_loss_ = None if validated else min(history["objective"])

    def _warn(self, converged, weights, penalty):
        if not converged:
            criterion = "validation score" if self.early_stopping else "training objective"
            warnings.warn(
                f"{type(self).__name__}: max_epochs={self.max_epochs} reached and the "
                f"{criterion} was still improving by more than tol={self.tol:g} within "
                f"n_iter_no_change={self.n_iter_no_change} epochs: the training has not "
                "converged; increase max_epochs", ConvergenceWarning, stacklevel=4)
        collapsed = collapsed_layers(weights)
        if collapsed and penalty is not None:
            warnings.warn(
                f"{type(self).__name__}: {penalty.name} with alpha={penalty.alpha:g} set every "
                f"weight of layer(s) {collapsed} to zero: the predictions no longer depend on "
                "the input; lower alpha", CollapsedNetworkWarning, stacklevel=4)

    def _evaluate(self, network, x, t):
        network.eval()
        with torch.no_grad():
            out = network(x)
            loss = float(self._loss(out, t))
        return loss, self._score_outputs(out, t)

    def _set_coefficients(self, network):
        linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
        self.coefs_ = [m.weight.detach().cpu().numpy().T.copy() for m in linears]
        self.intercepts_ = [m.bias.detach().cpu().numpy().copy() for m in linears]
        self.layer_sparsity_ = [float(np.mean(c == 0)) for c in self.coefs_]
        self.coef_sparsity_ = zero_fraction(select_parameters(network))

    # ---- prediction ----------------------------------------------------------
    def _forward(self, X) -> torch.Tensor:
        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        sizes = [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]]
        self.module_.eval()
        with torch_threads(choose_threads(sizes, X.shape[0], self.device_)), torch.no_grad():
            x = torch.as_tensor(X, dtype=torch.float32, device=self.device_)
            return self.module_(x).cpu()


class MLPClassifier(ClassifierMixin, _BaseMLP):
    r"""Penalized MLP classifier (softmax cross-entropy), trained with PyTorch.

    Minimizes ``mean cross-entropy + alpha * sum_k P(W_k)`` over the weight matrices
    (biases unpenalized). With ``penalty=pz.L1()`` the proximal step in Adam's metric
    sets weights to exact zeros.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    penalty : Penalty, NeuronGroupLasso, str or None, default="l2"
        ``pz.L1()``, ``pz.L2()``, ``pz.ElasticNet(l1_ratio=...)``, their names, or None.
        ``"group"`` (:class:`~penalized.torch.NeuronGroupLasso`): group lasso on each
        unit's incoming weights (``alpha * sum_units sqrt(fan_in) ||w_unit||_2``), whose
        proximal step zeroes whole units; :func:`penalized.torch.prune` then removes them.
    alpha : float, default=1e-4
        Strength of the penalty (``alpha * ||W||^2 / 2`` for L2) on the mean loss.
        scikit-learn's ``MLPClassifier(alpha=a)`` is ``alpha = a / batch_size`` here.
    penalty_method : {"auto", "proximal", "loss"}, default="auto"
        "proximal": prox step after each optimizer step (exact zeros); "loss":
        differentiable term added to the loss; "auto": proximal unless the penalty is smooth.
        L2 goes through the gradient as the optimizer's coupled ``weight_decay = alpha``
        on the weight matrices (Adam, SGD), which is the loss term's gradient.
    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        "adamw" runs with ``weight_decay=0`` (the penalty is the regularizer).
    learning_rate : float, default=1e-3
    momentum : float, default=0.9
        SGD momentum (heavy ball).
    batch_size : int, default=200
        Capped at the number of training samples.
    max_epochs : int, default=200
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
        Stop after this many epochs without an improvement larger than ``tol`` (of the
        validation score with early stopping, of the training objective otherwise).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop on its accuracy
        and keep the best epoch's weights.
    validation_fraction : float, default=0.1
    standardize : bool, default=True
        Center and scale each input column (mean and standard deviation of the ``X`` given
        to ``fit``; constant columns are only centered) inside the estimator: the penalty
        then weighs every feature alike, and Adam's default step suits the inputs.
        ``module_`` starts with this fixed :class:`~penalized.torch.training.Standardize`
        layer, so it maps raw features to outputs; ``coefs_`` are the weights of the
        standardized inputs.
    warm_start : bool, default=False
        Continue from the previous fit's weights (used along alpha paths).
    random_state : int, RandomState or None
        Seeds initialization, shuffling and the validation split (deterministic on CPU).
    device : str or torch.device, default="cpu"
        "cpu", "cuda" or "auto".
    verbose : bool, default=False

    Training runs with one torch thread per 2^25 multiply-adds of a batch's forward pass
    (at most the caller's ``torch.get_num_threads()``, which is restored afterwards): one
    thread for small networks, where more threads only wait on each other.

    Raises
    ------
    ValueError
        When training diverges (the loss or a weight becomes infinite or NaN), naming the
        epoch.

    Warns
    -----
    ConvergenceWarning
        When ``max_epochs`` is reached without the stopping criterion being met.
    CollapsedNetworkWarning
        When the penalty set a whole weight matrix to zero (constant predictions).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    module_ : torch.nn.Sequential
        ``Sequential(input layer, network)``: the Standardize layer (Identity with
        ``standardize=False``), then the linear layers and activations.
    feature_mean_, feature_scale_ : ndarray of shape (n_features,) or None
    coefs_ : list of ndarray, ``coefs_[k]`` of shape (n_inputs_k, n_outputs_k)
    intercepts_ : list of ndarray
    history_ : dict of lists
        Per epoch: "epoch", "train_loss" (mean data loss over the epoch's batches),
        "objective" (train loss + penalty), "validation_loss", "validation_score"
        (NaN without early stopping), "zero_fraction" (exact zeros among the weights).
    coef_sparsity_ : float
        Fraction of exactly-zero weights (all layers).
    layer_sparsity_ : list of float
        The same, per layer.
    n_iter_ : int
        Epochs run.
    converged_ : bool
        Whether training stopped on its criterion (False: ``max_epochs`` was reached).
    loss_curve_ : list of float
        scikit-learn's name for ``history_["objective"]`` (loss plus penalty per epoch).
    best_loss_ : float or None
        Smallest objective (None with early stopping).
    validation_scores_ : list of float or None
        ``history_["validation_score"]`` with early stopping, else None.
    best_validation_score_ : float or None

    Examples
    --------
    >>> import penalized as pz
    >>> from sklearn.datasets import load_iris
    >>> from penalized.torch import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), penalty=pz.L1(), alpha=1e-3, learning_rate=1e-2,
    ...                     max_epochs=100, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    _classifier = True
    _multi_output = False

    def _prepare_target(self, y):
        check_classification_targets(y)
        if self._continuing():
            if not np.all(np.isin(y, self.classes_)):
                raise ValueError("warm_start: y has classes not seen in the first fit")
        else:
            self.classes_ = LabelEncoder().fit(y).classes_
            if len(self.classes_) < 2:
                raise ValueError(f"y has a single class ({self.classes_[0]!r}); need at least 2")
        self._n_outputs = len(self.classes_)
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _loss(self, out, t):
        return nn.functional.cross_entropy(out, t)

    def _score_outputs(self, out, t):
        return accuracy_score(t.cpu().numpy(), out.argmax(1).cpu().numpy())

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        return torch.softmax(self._forward(X), dim=1).double().numpy()

    def predict(self, X):
        """Predicted class labels, shape (n_samples,)."""
        out = self._forward(X)  # first: raises NotFittedError before classes_ is read
        return self.classes_[out.argmax(1).numpy()]


class MLPRegressor(RegressorMixin, _BaseMLP):
    r"""Penalized MLP regressor (least squares ``||y - f(x)||^2 / 2``), trained with PyTorch.

    Same parameters and attributes as :class:`MLPClassifier` (``validation_score`` is
    R^2); ``y`` may have several columns.

    Examples
    --------
    >>> import numpy as np
    >>> from penalized.torch import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] - 2 * X[:, 1]
    >>> reg = MLPRegressor((32,), alpha=1e-4, learning_rate=1e-2, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    """

    _classifier = False
    _multi_output = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (n_samples, n_outputs) is fitted
        return tags

    def _prepare_target(self, y):
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim = y.ndim
        target = y.reshape(len(y), -1)
        if self._continuing() and target.shape[1] != self._n_outputs:
            raise ValueError("warm_start: y has a different number of outputs than the first fit")
        self._n_outputs = target.shape[1]
        return target.astype(np.float32)

    def _loss(self, out, t):
        # (1/n) sum_i ||y_i - f(x_i)||^2 / 2: the LeastSquares datafit of the linear side
        return 0.5 * (out - t).square().sum(1).mean()

    def _score_outputs(self, out, t):
        return r2_score(t.cpu().numpy(), out.cpu().numpy())

    def predict(self, X):
        """Predictions, shape (n_samples,) or (n_samples, n_outputs) as ``y`` was."""
        out = self._forward(X).double().numpy()
        return out[:, 0] if self._y_ndim == 1 else out
