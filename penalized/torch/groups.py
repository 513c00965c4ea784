r"""Neuron-level group lasso: one group per unit of a layer, whose prox zeroes whole units.

A unit is a slice along dimension 0 of a layer's weight: one output neuron's incoming
weights for ``nn.Linear`` (a row of ``weight``), one output channel for a convolution
(``weight[c]``), optionally with its bias entry. The penalty of a layer is

.. math::  \alpha \sum_{u} \omega \, \lVert W_u \rVert_2, \qquad
           \omega = \sqrt{\text{group size}} \text{ (or 1)},

and its prox, the block soft-threshold, sets a whole unit to exactly zero when the
unit's (metric-weighted) norm is below the threshold: the unit then outputs a constant,
and :func:`penalized.torch.prune` removes it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import torch
from torch import nn

#: Newton's iterations for the radius of a block prox in a diagonal metric stop when no
#: row's radius moves by more than this fraction (float32 resolves about 1.2e-7).
RADIUS_RTOL = 1e-6
#: At most this many iterations; convergence is monotone and quadratic (see
#: :func:`_metric_radius`), a handful in practice.
RADIUS_MAX_ITER = 50


@dataclasses.dataclass(frozen=True)
class NeuronGroupLasso:
    r"""Group lasso over the units of each penalized layer (``penalty="group"``).

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of ``alpha * sum_units omega ||W_unit||_2`` added to the mean loss.
    include_bias : bool, default=False
        Put each unit's bias entry in its group (``||(W_u, b_u)||_2``). Needs the module
        (not a list of tensors) to pair weights with biases. With the default, biases
        are unpenalized (the convention of :mod:`penalized`) and a zeroed unit outputs
        the constant ``act(b_u)``, which :func:`penalized.torch.prune` folds into the
        next layer's bias.
    size_weighted : bool, default=True
        ``omega = sqrt(group size)`` (the number of entries of a unit's group), so that
        layers of different fan-in are penalized alike; ``False``: ``omega = 1``.

    Examples
    --------
    >>> import torch
    >>> from penalized.torch import NeuronGroupLasso, ProximalOptimizer
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    >>> opt = ProximalOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), NeuronGroupLasso(),
    ...                         alpha=10.0)
    >>> x, y = torch.randn(32, 4), torch.randn(32, 1)
    >>> torch.nn.functional.mse_loss(model(x), y).backward()
    >>> _ = opt.step()
    >>> int((model[0].weight.abs().sum(1) == 0).sum())  # strong alpha: every unit is zero
    8
    """

    alpha: float = 1.0
    include_bias: bool = False
    size_weighted: bool = True

    #: Registry name (the MLP's ``penalty="group"``).
    name: ClassVar[str] = "group"
    #: Declared capabilities, read by the torch side instead of the class.
    unit_groups: ClassVar[bool] = True
    elastic_net_family: ClassVar[bool] = False
    smooth: ClassVar[bool] = False
    positive: ClassVar[bool] = False
    weights: ClassVar[None] = None

    def __post_init__(self):
        alpha = float(self.alpha)
        if not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha!r}")
        object.__setattr__(self, "alpha", alpha)
        for flag in ("include_bias", "size_weighted"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be True or False, got {getattr(self, flag)!r}")

    def with_alpha(self, alpha: float) -> NeuronGroupLasso:
        """A copy with another strength (never mutates ``self``)."""
        return dataclasses.replace(self, alpha=alpha)

    def group_weight(self, weight: torch.Tensor, bias: torch.Tensor | None) -> float:
        """``omega`` of the units of a layer with this ``weight`` (and grouped ``bias``)."""
        if not self.size_weighted:
            return 1.0
        size = weight[0].numel() if weight.shape[0] else 0
        return math.sqrt(size + (1 if bias is not None else 0))

    def settings(self) -> dict:
        """What a state dict records of this penalty (loadable with ``weights_only``)."""
        return {"name": self.name, "alpha": self.alpha, "include_bias": self.include_bias,
                "size_weighted": self.size_weighted}


def unit_layers(module_or_params, include_bias: bool) -> list[tuple]:
    """``(weight, bias or None)`` pairs whose units are grouped.

    A module: its Linear, Bilinear and (not transposed) convolution layers, with the
    layer's bias when ``include_bias``. Tensors: each one alone, its units the slices
    along dimension 0.
    """
    if isinstance(module_or_params, nn.Module):
        pairs = []
        for layer in module_or_params.modules():
            if not isinstance(layer, (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd)):
                continue
            if getattr(layer, "transposed", False):
                raise ValueError(
                    f"{type(layer).__name__}: a transposed convolution's output channels are "
                    "weight[:, c], not weight[c]; neuron groups are not defined for it")
            pairs.append((layer.weight, layer.bias if include_bias else None))
        return pairs
    if include_bias:
        raise ValueError("NeuronGroupLasso(include_bias=True) needs the module, to pair each "
                         "layer's weight with its bias; got tensors")
    return [(p, None) for p in module_or_params]


def unit_norms(weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Euclidean norm of each unit (rows of ``weight``, with ``bias`` when given)."""
    squares = weight.flatten(1).square().sum(1) if weight.ndim > 1 else weight.square()
    if bias is not None:
        squares = squares + bias.square()
    return squares.sqrt()


def group_value(pairs, penalty: NeuronGroupLasso) -> torch.Tensor:
    """Differentiable ``alpha * sum omega ||unit||`` over ``(weight, bias)`` pairs."""
    total = sum(penalty.group_weight(w, b) * unit_norms(w, b).sum() for w, b in pairs)
    return penalty.alpha * total


def _rows(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.reshape(tensor.shape[0], -1)


def _inverse_steps(scaled, like: torch.Tensor) -> torch.Tensor | float:
    """``d = 1 / scaled`` per coordinate (a float for a uniform step).

    ``scaled`` is ``alpha * step`` as the optimizer's step rules give it: a float, a
    tensor, or ``(numerator, denominator)`` for ``numerator / denominator``.
    """
    if isinstance(scaled, tuple):
        numerator, denominator = scaled
        return denominator / numerator
    if isinstance(scaled, torch.Tensor):
        return torch.broadcast_to(scaled, like.shape).reciprocal()  # an infinite step: d = 0
    return 1.0 / scaled


@torch.no_grad()
def block_prox_(parts, scaled_steps, omega: float) -> None:
    r"""In place prox of ``sum_units omega ||u||`` in the metric of the steps.

    Solves, for each unit (row ``r`` of the tensors of ``parts`` together),

    .. math::  \min_u \sum_i \frac{(u_i - v_i)^2}{2 s_i} + \omega \lVert u \rVert_2,

    with ``s_i`` the scaled step (``alpha`` times the optimizer's step) of coordinate
    ``i``. The unit is zero when ``||v / s|| <= omega``; otherwise, with ``d = 1 / s``,
    ``u_i = d_i v_i tau / (d_i tau + omega)`` with ``tau = ||u||``. A uniform step gives
    the closed form ``u = v max(0, 1 - s omega / ||v||)``; otherwise ``tau`` solves a
    one-dimensional equation (:func:`_metric_radius`).

    Parameters
    ----------
    parts : list of torch.Tensor
        The tensors of one layer's groups (weight, and bias when grouped), each with the
        units along dimension 0; overwritten.
    scaled_steps : list
        For each part, ``alpha * step`` as a positive float, a tensor, or
        ``(numerator, denominator)`` (see :mod:`penalized.torch.optim`).
    omega : float
        The group weight (> 0).
    """
    if all(isinstance(s, float) for s in scaled_steps) and len(set(scaled_steps)) == 1:
        norms = unit_norms(parts[0], parts[1] if len(parts) > 1 else None)
        # 1 - s omega / ||v||: -inf for a zero unit, clamped to 0 (no NaN: s omega > 0)
        factor = (1.0 - scaled_steps[0] * omega / norms).clamp_(min=0.0)
        for part in parts:
            part.mul_(factor.view(-1, *[1] * (part.ndim - 1)))
        return
    values, metric, omega = _metric_problem(parts, scaled_steps, omega)
    scaled_values = metric * values
    radius, _ = _metric_radius(scaled_values, metric, omega)
    # u = a tau / (d tau + omega): exactly 0 where tau = 0 (the units below the threshold)
    denominator = metric * radius.unsqueeze(1)
    result = scaled_values.mul_(radius.unsqueeze(1)).div_(denominator.add_(omega))
    start = 0
    for part in parts:
        width = _rows(part).shape[1]
        part.copy_(result[:, start:start + width].reshape(part.shape))
        start += width


def _metric_problem(parts, scaled_steps, omega: float):
    """``(v, d, omega')``: the rows of the units and their metric, side by side.

    One part with steps ``numerator / denominator`` (Adam's): ``d = denominator`` and
    ``omega' = omega numerator``, the same minimizer as ``d = denominator / numerator``
    without dividing (the objective is multiplied by ``numerator``).
    """
    if len(parts) == 1 and isinstance(scaled_steps[0], tuple):
        numerator, denominator = scaled_steps[0]
        return _rows(parts[0]), _rows(denominator), omega * numerator
    inverse = [_inverse_steps(s, p) for p, s in zip(parts, scaled_steps, strict=True)]
    values = torch.cat([_rows(p) for p in parts], dim=1)
    metric = torch.cat([_rows(torch.broadcast_to(torch.as_tensor(d, dtype=p.dtype,
                                                                 device=p.device), p.shape))
                        for p, d in zip(parts, inverse, strict=True)], dim=1)
    return values, metric, omega


def _metric_radius(scaled_values: torch.Tensor, metric: torch.Tensor, omega: float):
    r"""``(tau, active)``: the norm of each unit's prox, and which units are not zero.

    With ``a = d v``, ``tau`` solves ``F(tau) = || a / (d tau + omega) || = 1``. Writing
    the terms as ``v_i / (tau + omega / d_i)`` shows the trust-region secular equation of
    Moré and Sorensen (1983): ``G = 1 / F - 1`` is concave and increasing in ``tau >= 0``
    (linear when ``d`` is uniform), so Newton's method on ``G`` started left of the root
    (``G <= 0``) increases monotonically to it, quadratically. The start
    ``(||a|| - omega) / max d`` is such a point (``F`` there is at least 1).
    """
    norm = scaled_values.norm(dim=1)
    active = norm > omega
    radius = torch.where(active, (norm - omega) / metric.amax(dim=1), 0.0)
    for _ in range(RADIUS_MAX_ITER):
        denominator = (metric * radius.unsqueeze(1)).add_(omega)
        squares = torch.div(scaled_values, denominator).square_()
        f_squared = squares.sum(1)
        slope = squares.mul_(metric).div_(denominator).sum(1)  # -F F'
        # Newton on G = 1/F - 1, G' = slope / F^3: tau - G / G' = tau + F^2 (F - 1) / slope
        # (>= 0 left of the root, where F >= 1); inactive units (a = 0: 0 / 0) do not move.
        step = torch.where(active, f_squared * (f_squared.sqrt() - 1.0) / slope, 0.0)
        radius = radius + step
        if not bool((step.abs() > RADIUS_RTOL * radius).any()):
            break
    return radius, active
