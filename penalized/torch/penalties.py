r"""The penalties of :mod:`penalized`, applied to the parameters of a PyTorch network.

The penalty objects are the ones of the linear side (``pz.L1()``, ``pz.L2()``,
``pz.ElasticNet(l1_ratio=...)``): their strength, ``l1_ratio`` and ``positive``
flag are read from them. The proximal operator is the closed form of
:func:`penalized.penalties.elastic_net.enet_prox` in in-place tensor operations
(tests check both agree for every penalty of the registry).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..penalties import PENALTIES, Penalty
from .groups import NeuronGroupLasso, group_value, unit_layers

#: Layers whose ``weight`` is penalized by default (biases and normalization layers never are).
PENALIZED_LAYERS = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd)

#: Penalties of the torch side only, by name; looked up before the linear registry, so that
#: ``penalty="group"`` means the neuron groups of a network.
TORCH_PENALTIES = {NeuronGroupLasso.name: NeuronGroupLasso}


def resolve_penalty(penalty, alpha: float | None = None) -> Penalty | NeuronGroupLasso:
    """Return a penalty object with the requested strength.

    Parameters
    ----------
    penalty : Penalty, NeuronGroupLasso or str
        A penalty of :mod:`penalized` (``pz.L1()``, ``pz.L2()``, ``pz.ElasticNet(...)``),
        :class:`~penalized.torch.NeuronGroupLasso`, or a registry name (``"l1"``,
        ``"l2"``, ``"elasticnet"``, ``"group"``).
    alpha : float, optional
        Strength; when omitted, ``penalty.alpha`` is used.

    Returns
    -------
    Penalty or NeuronGroupLasso
        A copy carrying ``alpha`` (the caller's object is never mutated).
    """
    if isinstance(penalty, str):
        names = {**PENALTIES, **TORCH_PENALTIES}
        if penalty.lower() not in names:
            raise ValueError(
                f"unknown penalty {penalty!r}; choose one of {sorted(names)} "
                "or pass a penalty object such as pz.L1()"
            )
        penalty = names[penalty.lower()]()
    if isinstance(penalty, NeuronGroupLasso):
        return penalty if alpha is None else penalty.with_alpha(_check_alpha(alpha))
    if not isinstance(penalty, Penalty):
        raise TypeError(
            f"penalty must be a penalized penalty (pz.L1(), pz.L2(), ...) or its name, "
            f"got {type(penalty).__name__}"
        )
    if not penalty.elastic_net_family:
        raise TypeError(
            f"{type(penalty).__name__} is not supported on neural networks yet: "
            "only the elastic-net family (L1, L2, ElasticNet) has a torch proximal operator"
        )
    if penalty.weights is not None:
        raise ValueError(
            "per-feature penalty weights are not supported on network parameters; "
            "select the parameters to penalize instead"
        )
    if penalty.bounded:
        raise ValueError("box constraints (lower / upper, excluded features) are not "
                         "supported on network parameters")
    if alpha is not None:
        penalty = penalty.with_alpha(_check_alpha(alpha))  # validates: finite and >= 0
    return penalty


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    return alpha


def select_parameters(module_or_params) -> list[torch.Tensor]:
    """The tensors a penalty applies to.

    Parameters
    ----------
    module_or_params : torch.nn.Module or iterable of torch.Tensor
        A module: the ``weight`` of every ``Linear``, ``Bilinear`` and convolution layer
        in it (biases and normalization layers are excluded). An iterable: exactly
        those tensors.

    Returns
    -------
    list of torch.Tensor
    """
    if isinstance(module_or_params, nn.Module):
        return [
            m.weight for m in module_or_params.modules()
            if isinstance(m, PENALIZED_LAYERS) and getattr(m, "weight", None) is not None
        ]
    if isinstance(module_or_params, torch.Tensor):
        return [module_or_params]
    if not isinstance(module_or_params, Iterable):
        raise TypeError(
            "expected a torch.nn.Module or an iterable of tensors, "
            f"got {type(module_or_params).__name__}"
        )
    params = list(module_or_params)
    for p in params:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"expected tensors to penalize, got {type(p).__name__}")
    return params


def _elementwise_value(w: torch.Tensor, l1_ratio: float) -> torch.Tensor:
    # P per coordinate, r|w| + (1 - r) w^2 / 2: the formula of
    # penalized.penalties.separable (tests check that both agree on every penalty).
    terms = 0.0
    if l1_ratio > 0:
        terms = l1_ratio * w.abs()
    if l1_ratio < 1:
        terms = terms + (1.0 - l1_ratio) * 0.5 * w.square()
    return terms


def penalty_value(module_or_params, penalty, alpha: float | None = None) -> torch.Tensor:
    r"""Differentiable ``alpha * P(W)`` summed over the penalized weights.

    Add it to the **mean** loss of a batch, as everywhere in :mod:`penalized`:

    .. math::  \frac{1}{n}\sum_i \ell(y_i, f(x_i)) + \alpha \sum_W P(W), \qquad
               P_{L2}(W) = \tfrac12 \|W\|_2^2,\; P_{L1}(W) = \|W\|_1 .

    Parameters
    ----------
    module_or_params : torch.nn.Module or iterable of torch.Tensor
        A module (the weights of its Linear and convolution layers are penalized;
        biases and normalization layers are not) or the tensors to penalize.
    penalty : Penalty, NeuronGroupLasso or str
        ``pz.L1()``, ``pz.L2()``, ``pz.ElasticNet(l1_ratio=...)``,
        :class:`~penalized.torch.NeuronGroupLasso` (``alpha * sum omega ||unit||_2``) or
        their names.
    alpha : float, optional
        Strength (>= 0); defaults to ``penalty.alpha``.

    Returns
    -------
    torch.Tensor of shape ()
        On the device and dtype of the parameters, with a gradient.

    Notes
    -----
    Conventions of other code, converted exactly to this ``alpha`` (for a loss that
    is a mean over the batch; for a loss summed over a batch of size ``B``, divide
    the resulting alpha by ``B``):

    - The tutorial's ``loss += lam * tf.nn.l2_loss(W)``: ``l2_loss(W) = sum(W**2) / 2``,
      so ``pz.L2()`` with ``alpha = lam``.
    - The textbook ``J = 1/(2n) sum (y - h)^2 + lam/(2n) sum W^2``: ``alpha = lam / n``
      with the least-squares loss ``(y - h)^2 / 2`` (what :class:`MLPRegressor` uses).
    - PyTorch ``SGD(..., weight_decay=wd)`` adds ``wd * W`` to the gradient, the gradient
      of ``wd * sum(W**2) / 2``: ``pz.L2()`` with ``alpha = wd`` (but ``weight_decay``
      also decays biases unless they sit in a parameter group without it). The same
      holds for ``Adam(weight_decay=wd)``; ``AdamW``'s decoupled decay is *not* a
      penalty on the loss and has no exact alpha.
    - Keras ``regularizers.l2(f)`` adds ``f * sum(W**2)``: ``alpha = 2 f``.
      ``regularizers.l1(f)`` adds ``f * sum(|W|)``: ``pz.L1()`` with ``alpha = f``.
      ``L1L2(l1=a, l2=b)``: ``pz.ElasticNet`` with ``alpha = a + 2 b`` and
      ``l1_ratio = a / (a + 2 b)``.

    As a loss term, L1 is only subgradient-descended and almost never yields exact
    zeros; use :class:`penalized.torch.ProximalOptimizer` for that.

    Examples
    --------
    >>> import torch, penalized as pz
    >>> from penalized.torch import penalty_value
    >>> layer = torch.nn.Linear(3, 2)
    >>> with torch.no_grad():
    ...     _ = layer.weight.fill_(1.0)
    >>> round(penalty_value(layer, pz.L2(), alpha=0.1).item(), 6)  # 0.1 * 6 / 2
    0.3
    """
    penalty = resolve_penalty(penalty, alpha)
    params = select_parameters(module_or_params)
    if not params:
        raise ValueError("no parameters to penalize (no Linear or convolution layer found)")
    if penalty.unit_groups:
        source = module_or_params if isinstance(module_or_params, nn.Module) else params
        return group_value(unit_layers(source, penalty.include_bias), penalty)
    total = sum(_elementwise_value(p, penalty.ratio).sum() for p in params)
    return penalty.alpha * total


@torch.no_grad()
def prox_(param: torch.Tensor, step, penalty: Penalty) -> torch.Tensor:
    """In place ``param <- prox_{step * alpha * P}(param)``.

    Parameters
    ----------
    param : torch.Tensor
        Updated in place.
    step : float or torch.Tensor broadcastable to ``param``
        Step size (a tensor of per-coordinate steps for a diagonal metric); not modified.
    penalty : Penalty
        A penalty of the elastic-net family (see :func:`resolve_penalty`).

    Returns
    -------
    torch.Tensor
        ``param`` itself.
    """
    scaled = step * penalty.alpha  # a new tensor (or a float): scratch space for prox_scaled_
    return prox_scaled_(param, scaled, penalty.ratio, penalty.positive)


def prox_scaled_(param: torch.Tensor, scaled, l1_ratio: float, positive: bool) -> torch.Tensor:
    r"""In place prox of ``scaled * (r|u| + (1 - r) u^2 / 2)``, overwriting ``scaled``.

    The closed form of :func:`penalized.penalties.elastic_net.enet_prox`,

    .. math::  u = \frac{\operatorname{sign}(v) \max(|v| - r s, 0)}{1 + (1 - r) s}
               \quad (\max(v - r s, 0) \text{ in the numerator when positive}),

    written with in-place tensor operations: soft-thresholding as
    ``v - clamp(v, -t, t)``, which is the same floating-point result (``v - t`` or
    ``v + t`` outside, exactly 0 inside) without the temporaries. On the CPU every
    temporary of a weight matrix is a fresh allocation, and those dominated the cost of
    the step. Tests check it against the penalty's own ``prox`` for every penalty of the
    registry.

    Parameters
    ----------
    param : torch.Tensor
        ``v``, overwritten with ``u``.
    scaled : float or torch.Tensor
        ``s = step * alpha`` (per coordinate); a tensor is used as scratch space.
    l1_ratio : float
        ``r`` in [0, 1].
    positive : bool
        Constrain ``u >= 0``.
    """
    is_tensor = isinstance(scaled, torch.Tensor)
    if l1_ratio > 0:
        thresh = scaled if l1_ratio == 1.0 else scaled * l1_ratio
        if positive:  # max(v - t, 0) = v - min(v, t)
            bound = torch.minimum(param, thresh) if is_tensor else param.clamp(max=thresh)
        elif is_tensor:  # sign(v) max(|v| - t, 0) = v - clamp(v, -t, t), t >= 0
            bound = torch.neg(thresh)
            torch.clamp(param, bound, thresh, out=bound)  # elementwise: may overwrite -t
        else:
            bound = param.clamp(-thresh, thresh)
        param.sub_(bound)
    elif positive:
        param.clamp_(min=0.0)
    if l1_ratio < 1:
        param.div_(scaled.mul_(1.0 - l1_ratio).add_(1.0) if is_tensor
                   else 1.0 + scaled * (1.0 - l1_ratio))
    return param


def prox_metric_(param: torch.Tensor, numerator: float, denominator: torch.Tensor,
                 l1_ratio: float, positive: bool) -> torch.Tensor:
    r"""In place :func:`prox_scaled_` with ``scaled = numerator / denominator`` (overwritten).

    With ``s = k / d`` (``d > 0``) the closed form of :func:`prox_scaled_` is

    .. math::  u = \frac{\operatorname{shrink}(v d, r k)}{d + (1 - r) k},
               \qquad \operatorname{shrink}(x, \lambda) = \operatorname{sign}(x)
               \max(|x| - \lambda, 0)

    (``max(v d - r k, 0)`` when positive): the same prox, with ``shrink`` a single
    ``softshrink`` and no per-coordinate threshold tensor, hence five tensor operations
    with the step's own ``sqrt`` and ``add`` instead of eight. Entries are exactly zero
    where ``|v d| <= r k`` (``-0.0`` for negative ``v``); elsewhere the result agrees with
    :func:`prox_scaled_` up to rounding.

    Parameters
    ----------
    param : torch.Tensor
        ``v``, overwritten with ``u``.
    numerator : float
        ``k >= 0`` (``alpha`` times the learning rate, for the adaptive optimizers).
    denominator : torch.Tensor
        ``d > 0`` (the caller's guarantee: with ``d = 0`` the step is infinite, use
        :func:`prox_scaled_`), of the shape of ``param``; used as scratch space.
    l1_ratio : float
        ``r`` in [0, 1].
    positive : bool
        Constrain ``u >= 0``.

    Returns
    -------
    torch.Tensor
        ``param`` itself.
    """
    product = param * denominator  # v d
    if l1_ratio > 0:
        if positive:
            product.sub_(l1_ratio * numerator).clamp_(min=0.0)
        else:
            product = torch.nn.functional.softshrink(product, l1_ratio * numerator)
    elif positive:
        product.clamp_(min=0.0)
    if l1_ratio < 1:
        denominator.add_((1.0 - l1_ratio) * numerator)
    return torch.div(product, denominator, out=param)


def zero_fraction(module_or_params) -> float:
    """Fraction of exactly-zero entries among the penalized weights."""
    params = select_parameters(module_or_params)
    total = sum(p.numel() for p in params)
    if total == 0:
        return 0.0
    zeros = sum(int((p == 0).sum()) for p in params)
    return zeros / total
