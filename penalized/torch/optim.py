r"""A wrapper that turns any supported ``torch.optim`` optimizer into a proximal one.

After the wrapped optimizer's step ``v = W - D^{-1} g`` (``D`` diagonal: ``1 / lr`` for
SGD, ``(sqrt(v_hat) + eps) / lr`` for Adam), the penalty is applied through its
proximal operator *in the same metric*,

.. math::  W \leftarrow \arg\min_U \tfrac12 \|U - v\|_D^2 + \alpha P(U),

which for a separable penalty is the scalar prox of coordinate ``i`` with step
``1 / D_ii``. For L1 this is soft-thresholding by ``alpha * step_i``: weights land on
exact zeros, and the fixed points are exactly the KKT points of the penalized loss
(zero where ``|grad| <= alpha``, ``grad = -alpha sign(W)`` elsewhere).

A penalty that declares ``unit_groups`` (:class:`~penalized.torch.NeuronGroupLasso`) is
not separable: its prox in the same metric is the block soft-threshold of each unit
(:func:`penalized.torch.groups.block_prox_`), whose fixed points are again the KKT points
(a unit is zero where ``||grad_unit|| <= alpha omega``).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch

from .groups import block_prox_, unit_layers
from .penalties import prox_metric_, prox_scaled_, resolve_penalty, select_parameters


def _sgd_steps(optimizer, group, state, scale):
    if group.get("nesterov", False):
        raise ValueError(
            "ProximalOptimizer does not support SGD with nesterov=True "
            "(no diagonal metric in which its step is a gradient step); use momentum alone"
        )
    momentum = group.get("momentum", 0.0)
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"ProximalOptimizer needs SGD momentum in [0, 1), got {momentum}")
    dampening = group.get("dampening", 0.0)
    # With heavy-ball momentum the buffer settles at (1 - dampening) g / (1 - momentum):
    # the step lr (1 - dampening) / (1 - momentum) makes the fixed points of
    # "momentum step, then prox" exactly the KKT points (with lr alone they would be
    # those of a weaker penalty). Without momentum this is lr.
    lr = float(group["lr"])
    return scale * (lr * (1.0 - dampening) / (1.0 - momentum) if momentum else lr)


# The adaptive optimizers' steps are ``numerator / denominator`` per coordinate, returned
# as the pair (float, fresh tensor): the prox is then applied in that form
# (prox_metric_), in five tensor operations instead of eight for the step itself and
# the soft-thresholding. On small networks each operation costs microseconds of dispatch
# whatever its size, and these are the whole cost of the prox.


def _quotient(numerator, denominator, group):
    # (numerator, denominator) for prox_metric_, which needs denominator > 0: true with
    # eps > 0 (sqrt >= 0); with eps = 0 an entry may be 0, the step infinite: the step
    # itself, as a tensor, for prox_scaled_.
    if float(group["eps"]) > 0.0:
        return numerator, denominator
    return denominator.reciprocal_().mul_(numerator)


def _adam_steps(optimizer, group, state, scale):
    # torch: W -= lr * m_hat / (sqrt(v_hat) + eps) with v_hat = v / (1 - beta2^t): the
    # per-coordinate step applied to the bias-corrected gradient average is
    # lr / (sqrt(v) / c + eps) = lr c / (sqrt(v) + eps c), c = sqrt(1 - beta2^t).
    beta2 = float(group["betas"][1])
    second = state["max_exp_avg_sq"] if group.get("amsgrad", False) else state["exp_avg_sq"]
    correction = math.sqrt(1.0 - beta2 ** float(state["step"]))
    denominator = second.sqrt().add_(float(group["eps"]) * correction)
    return _quotient(scale * float(group["lr"]) * correction, denominator, group)


def _rmsprop_steps(optimizer, group, state, scale):
    if group.get("momentum", 0.0) or group.get("centered", False):
        raise ValueError("ProximalOptimizer supports RMSprop without momentum and centered=False")
    denominator = state["square_avg"].sqrt().add_(float(group["eps"]))
    return _quotient(scale * float(group["lr"]), denominator, group)


def _adagrad_steps(optimizer, group, state, scale):
    step = float(state["step"])
    lr = group["lr"] / (1.0 + (step - 1.0) * group["lr_decay"])
    return _quotient(scale * float(lr), state["sum"].sqrt().add_(float(group["eps"])), group)


#: Optimizer class -> (per-coordinate step of its last update) * scale, scale being alpha:
#: a float or a tensor, or (numerator, denominator tensor) for numerator / denominator.
#: Subclasses included, so AdamW uses Adam's rule (its decoupled decay precedes the same step).
STEP_RULES = (
    (torch.optim.SGD, _sgd_steps),
    (torch.optim.Adam, _adam_steps),
    (torch.optim.AdamW, _adam_steps),
    (torch.optim.RMSprop, _rmsprop_steps),
    (torch.optim.Adagrad, _adagrad_steps),
)


def _check_learning_rates(param_groups) -> None:
    for index, group in enumerate(param_groups):
        lr = float(group["lr"])
        if not (math.isfinite(lr) and lr >= 0.0):
            raise ValueError(
                f"learning rate of parameter group {index} is {lr}: ProximalOptimizer needs "
                "a finite lr >= 0 (was it changed by a scheduler or by hand?)"
            )


def _all_params(optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def _step_rule(optimizer):
    for cls, rule in STEP_RULES:
        if isinstance(optimizer, cls):
            return rule
    names = ", ".join(cls.__name__ for cls, _ in STEP_RULES)
    raise TypeError(
        f"ProximalOptimizer cannot read the step of {type(optimizer).__name__}; "
        f"supported optimizers: {names}"
    )


def _settings(penalty) -> dict:
    """The penalty as a state dict records it (plain values: loadable with weights_only)."""
    if penalty.unit_groups:
        return penalty.settings()
    return {"name": penalty.name, "alpha": penalty.alpha, "l1_ratio": penalty.ratio,
            "positive": penalty.positive}


class ProximalOptimizer(torch.optim.Optimizer):
    r"""Wrap a ``torch.optim`` optimizer so that each step ends with the penalty's prox.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        ``SGD`` (momentum allowed, not Nesterov), ``Adam`` / ``AdamW`` (amsgrad allowed),
        ``RMSprop`` (plain) or ``Adagrad``. Its learning rate, state and schedulers keep
        working as usual (``ProximalOptimizer`` shares its ``param_groups`` and ``state``).
    penalty : Penalty, NeuronGroupLasso or str
        ``pz.L1()``, ``pz.L2()``, ``pz.ElasticNet(l1_ratio=...)``,
        :class:`~penalized.torch.NeuronGroupLasso` (whole units to zero) or their names.
        ``positive=True`` keeps the penalized weights non-negative.
    alpha : float, optional
        Strength ``alpha`` of ``alpha * P(W)`` added to the mean loss; defaults to
        ``penalty.alpha``.
    params : torch.nn.Module or iterable of torch.Tensor, optional
        What to penalize. Default: every parameter of the optimizer with two or more
        dimensions (weight matrices and kernels; biases and normalization scales are
        left alone). A module selects the weights of its Linear and convolution layers;
        ``NeuronGroupLasso(include_bias=True)`` needs it, to pair each weight with its bias.

    Notes
    -----
    The step used for coordinate ``i`` is the one the wrapped optimizer just took:
    ``lr`` for SGD, ``lr / (sqrt(v_hat_i) + eps)`` for Adam (``v_hat`` the bias-corrected
    ``exp_avg_sq`` of its state), i.e. the prox is taken in Adam's diagonal metric.
    Only parameters that received a gradient in this step are proximal-stepped.
    ``maximize=True`` is refused.

    Examples
    --------
    >>> import torch, penalized as pz
    >>> from penalized.torch import ProximalOptimizer
    >>> model = torch.nn.Linear(5, 1)
    >>> opt = ProximalOptimizer(torch.optim.Adam(model.parameters(), lr=1e-2), pz.L1(), alpha=0.5)
    >>> x, y = torch.randn(20, 5), torch.randn(20, 1)
    >>> for _ in range(200):
    ...     opt.zero_grad()
    ...     torch.nn.functional.mse_loss(model(x), y).backward()
    ...     _ = opt.step()
    >>> bool((model.weight == 0).any())
    True
    """

    def __init__(self, optimizer, penalty, alpha: float | None = None, params=None):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
            )
        if isinstance(optimizer, ProximalOptimizer):
            raise TypeError("optimizer is already a ProximalOptimizer")
        self.optimizer = optimizer
        self.penalty = resolve_penalty(penalty, alpha)
        self._steps_of = _step_rule(optimizer)
        for group in optimizer.param_groups:
            if group.get("maximize", False):
                raise ValueError("ProximalOptimizer minimizes: maximize=True is not supported")
            if self._steps_of is _sgd_steps:  # SGD's step needs no state: check its options now
                _sgd_steps(optimizer, group, None, 1.0)
        owned = {id(p) for p in _all_params(optimizer)}
        if params is None:
            selected = [p for p in _all_params(optimizer) if p.ndim >= 2]
        else:
            selected = select_parameters(params)
            if any(id(p) not in owned for p in selected):
                raise ValueError("params to penalize must be parameters of the optimizer")
        self._penalized_ids = {id(p) for p in selected}
        # weight id -> the bias grouped with its units (NeuronGroupLasso(include_bias=True))
        self._unit_bias = {}
        if self.penalty.unit_groups and self.penalty.include_bias:
            pairs = unit_layers(params if params is not None else selected, True)
            if any(id(b) not in owned for _, b in pairs if b is not None):
                raise ValueError("the biases grouped with the units must be parameters of "
                                 "the optimizer")
            self._unit_bias = {id(w): b for w, b in pairs if b is not None}
        # torch.optim.Optimizer bookkeeping without copying the wrapped optimizer's groups
        # (LR schedulers see and change the same dicts). Optimizer.__init__ is not called:
        # it would copy the groups and wrap ``step`` in a profiling hook that cost as much
        # as the prox itself on small networks; the wrapped optimizer's hooks still run.
        self.defaults = optimizer.defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()

    # ---- shared with the wrapped optimizer -------------------------------
    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    @property
    def alpha(self) -> float:
        """Current strength of the penalty."""
        return self.penalty.alpha

    def set_alpha(self, alpha: float) -> None:
        """Change the strength (e.g. along a regularization path)."""
        self.penalty = resolve_penalty(self.penalty, alpha)

    def penalized_parameters(self) -> list[torch.Tensor]:
        """The parameters the prox is applied to."""
        return [p for g in self.param_groups for p in g["params"] if id(p) in self._penalized_ids]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group to the wrapped optimizer; its matrices are penalized."""
        self.optimizer.add_param_group(param_group)
        self._penalized_ids.update(id(p) for p in param_group["params"] if p.ndim >= 2)

    # ---- the step ----------------------------------------------------------
    def step(self, closure=None):
        """The wrapped optimizer's step, then the prox with the step it took.

        Returns
        -------
        The closure's loss, when a closure is given.

        Raises
        ------
        ValueError
            When a group's learning rate is negative or not finite (set by the user or a
            scheduler after construction): the prox of a negative step is not defined,
            and the wrapped step would ascend. Checked before the wrapped step is taken.
        """
        _check_learning_rates(self.optimizer.param_groups)
        loss = self.optimizer.step(closure)
        alpha = self.penalty.alpha
        if alpha == 0.0 and not self.penalty.positive:
            return loss
        if self.penalty.unit_groups:
            self._unit_prox(alpha)
            return loss
        optimizer, steps_of, penalized = self.optimizer, self._steps_of, self._penalized_ids
        ratio, positive = self.penalty.ratio, self.penalty.positive
        with torch.no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None or id(param) not in penalized:
                        continue
                    # step * alpha: a float or a fresh tensor, or numerator / denominator
                    scaled = steps_of(optimizer, group, optimizer.state.get(param, {}), alpha)
                    if isinstance(scaled, tuple):
                        prox_metric_(param, *scaled, ratio, positive)
                    else:
                        prox_scaled_(param, scaled, ratio, positive)
        return loss

    @torch.no_grad()
    def _unit_prox(self, alpha: float) -> None:
        """The block prox of each penalized weight's units (with their grouped bias)."""
        optimizer, steps_of = self.optimizer, self._steps_of
        group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        for param in self.penalized_parameters():
            if param.grad is None or not float(group_of[id(param)]["lr"]):
                continue  # not stepped, or a zero step: the prox is the identity
            parts = [param]
            bias = self._unit_bias.get(id(param))
            if bias is not None and bias.grad is not None and float(group_of[id(bias)]["lr"]):
                parts.append(bias)  # a bias that did not move is left out of its group
            steps = [steps_of(optimizer, group_of[id(p)], optimizer.state.get(p, {}), alpha)
                     for p in parts]
            omega = self.penalty.group_weight(param, parts[1] if len(parts) > 1 else None)
            block_prox_(parts, steps, omega)

    # ---- persistence -------------------------------------------------------
    def state_dict(self) -> dict:
        """The wrapped optimizer's state dict plus the penalty (loadable with weights_only)."""
        return {"optimizer": self.optimizer.state_dict(), "penalty": _settings(self.penalty)}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the wrapped optimizer's state and the penalty's strength.

        The penalty's kind must match the one this optimizer was built with.
        """
        if set(state_dict) != {"optimizer", "penalty"}:
            raise ValueError(
                "not a ProximalOptimizer state dict (expected keys 'optimizer' and 'penalty')"
            )
        saved = state_dict["penalty"]
        ours = _settings(self.penalty)
        if {k: v for k, v in saved.items() if k != "alpha"} != \
                {k: v for k, v in ours.items() if k != "alpha"}:
            settings = ", ".join(f"{k}={v!r}" for k, v in saved.items()
                                 if k not in ("name", "alpha"))
            raise ValueError(
                f"state dict was saved with penalty {saved['name']!r} ({settings}), this "
                f"optimizer has {self.penalty!r}"
            )
        self.optimizer.load_state_dict(state_dict["optimizer"])
        self.set_alpha(saved["alpha"])

    def __repr__(self) -> str:
        return f"ProximalOptimizer({self.optimizer!r}, penalty={self.penalty!r})"
