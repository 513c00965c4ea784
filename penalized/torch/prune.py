r"""Remove the zero units of a network: a smaller network that computes the same function.

A unit of a layer (a ``Linear`` output neuron, a convolution output channel) whose
incoming weights are all zero, as :class:`~penalized.torch.NeuronGroupLasso` leaves them,
outputs the constant ``b_u`` before the activation, hence ``c_u = act(b_u)`` after it
(activations between layers act on each unit alone). Its contribution to the next layer is
then ``W'[:, u] c_u`` (summed over the kernel taps for a convolution, over the spatial
positions after a ``Flatten``): folded into the next layer's bias, the unit and the next
layer's matching inputs can be removed without changing the output. A unit whose
outgoing weights are all zero is unused and is removed too.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

#: Modules that act on each unit alone and are applied to the constants of zeroed units.
ELEMENTWISE = (
    nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.Hardsigmoid,
    nn.Hardswish, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink, nn.LogSigmoid, nn.Threshold,
)
#: Identity in evaluation mode (a constant stays the same constant): anywhere.
EVAL_IDENTITY = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
#: A per-unit affine map in evaluation mode (running statistics): applied to the constants,
#: and sliced with the units it follows (before a Flatten).
PER_UNIT_AFFINE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
#: Channel by channel, mapping a constant channel to the same constant (max pooling pads
#: with -inf; adaptive pooling does not pad): between a convolution and what follows it.
CONSTANT_POOLING = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d,
                    nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.AdaptiveAvgPool1d,
                    nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)


@dataclasses.dataclass(frozen=True)
class UnitLayer:
    """How a layer's units appear in its weight: the attribute names of its sizes."""

    units: str  # the number of units (output features or channels): weight.shape[0]
    inputs: str  # the number of inputs (of the next layer's point of view): weight.shape[1]


#: Layers whose units can be pruned, with the names of their size attributes.
UNIT_LAYERS = {nn.Linear: UnitLayer("out_features", "in_features"),
               nn.Conv1d: UnitLayer("out_channels", "in_channels"),
               nn.Conv2d: UnitLayer("out_channels", "in_channels"),
               nn.Conv3d: UnitLayer("out_channels", "in_channels")}


def prune(model: nn.Module) -> nn.Module:
    r"""A smaller copy of ``model`` without its zero units, computing the same function.

    Parameters
    ----------
    model : torch.nn.Sequential
        Possibly nested (the ``module_`` of :class:`~penalized.torch.MLPClassifier` is
        ``Sequential(Standardize, Sequential(Linear, ReLU, ..., Linear))``). Between two
        consecutive ``Linear`` or convolution layers there may be elementwise activations
        (ReLU, Tanh, Sigmoid, GELU, ...), dropout and batch normalization (with running
        statistics: the pruned model equals the original in evaluation mode); between
        convolutions also max or adaptive pooling, and before a ``Linear`` a
        ``Flatten()``. Any module may come before the first such layer or after the last.

    Returns
    -------
    torch.nn.Sequential
        A new model (``model`` is not modified) whose layers have lost the units with
        all-zero incoming weights (their constant output ``act(bias)`` is folded into
        the next layer's bias) or all-zero outgoing weights. The output layer keeps all
        its units; a layer keeps at least one. Equal outputs up to floating-point
        rounding (in evaluation mode when there is dropout).

    Raises
    ------
    TypeError
        When ``model`` is not an ``nn.Sequential``.
    ValueError
        When a module between two layers is not one of the above (the zeroed units'
        constants could not be followed through it), or for grouped or transposed
        convolutions, mismatched sizes, or a convolution followed by a ``Linear``
        without ``Flatten``.

    Notes
    -----
    A convolution with zero padding (``padding_mode="zeros"``, padding > 0) after the
    pruned one sees the constant channel only partly near the borders: there a unit is
    removed only when its constant is exactly 0 (e.g. ReLU of a negative bias).

    Examples
    --------
    >>> import torch
    >>> from penalized.torch import prune
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight[1:3].zero_()
    >>> small = prune(net)
    >>> small[0].out_features, small[2].in_features
    (2, 2)
    >>> x = torch.randn(5, 3)
    >>> torch.allclose(small(x), net(x), atol=1e-6)
    True
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"prune needs an nn.Sequential (nested ones allowed), got "
                        f"{type(model).__name__}")
    pruned = copy.deepcopy(model)
    slots = _leaves(pruned)
    positions = [k for k, (_, _, m) in enumerate(slots) if _is_unit_layer(m)]
    with torch.no_grad():
        for first, second in zip(positions[:-1], positions[1:], strict=True):
            modules = _prune_pair(slots[first][2], [slots[k][2] for k in range(first + 1, second)],
                                  slots[second][2])
            for k, module in zip(range(first, second + 1), modules, strict=True):
                parent, key, _ = slots[k]
                parent._modules[key] = module
                slots[k] = (parent, key, module)
    return pruned


def _leaves(sequential: nn.Sequential) -> list[tuple]:
    """``(parent, key, module)`` for every module of nested Sequentials, in forward order."""
    if type(sequential).forward is not nn.Sequential.forward:
        raise TypeError(f"{type(sequential).__name__} overrides Sequential.forward: prune "
                        "cannot know the order its modules run in")
    slots = []
    for key, module in sequential._modules.items():
        if isinstance(module, nn.Sequential):
            slots.extend(_leaves(module))
        else:
            slots.append((sequential, key, module))
    return slots


def _is_unit_layer(module: nn.Module) -> bool:
    return type(module) in UNIT_LAYERS or isinstance(module, nn.modules.conv._ConvNd)


def _check_layer(module: nn.Module) -> None:
    if type(module) not in UNIT_LAYERS:
        raise ValueError(f"prune supports {', '.join(c.__name__ for c in UNIT_LAYERS)}; "
                         f"got {type(module).__name__}")
    if getattr(module, "groups", 1) != 1:
        raise ValueError(f"prune does not support grouped convolutions ({module})")


def _prune_pair(layer, between, following) -> list:
    """``[layer, *between, following]`` without ``layer``'s removable units and their inputs."""
    for module in (layer, following):
        _check_layer(module)
    spatial = _inputs_per_unit(layer, between, following)
    dead = ~layer.weight.flatten(1).any(dim=1)  # all incoming weights zero
    constants = _constants(layer, between, dead)
    blocks = _input_blocks(following.weight, spatial)  # (out, units, ...) per unit
    unused = ~blocks.flatten(2).any(dim=2).any(dim=0)
    # the folded contribution of a zeroed unit to each output of `following`: W[:, u] c_u
    # summed over its taps or positions
    contribution = blocks.flatten(2).sum(2) * constants  # (out, units)
    if not _folds_exactly(following):
        dead = dead & (constants == 0)  # zero padding sees a partial constant: only 0 folds
    remove = dead | unused
    if bool(remove.all()):
        remove[0] = False  # a layer keeps a unit: empty layers are not valid everywhere
    if not bool(remove.any()):
        return [layer, *between, following]
    keep = ~remove
    shift = contribution[:, remove].sum(1)  # 0 for unused units: their weights are 0
    return [_keep_units(layer, keep),
            *(_keep_features(m, keep) if isinstance(m, PER_UNIT_AFFINE) else m for m in between),
            _keep_inputs(following, keep, spatial, shift)]


def _inputs_per_unit(layer, between, following) -> int:
    """How many inputs of ``following`` each unit of ``layer`` feeds (1, or H W after
    Flatten); checks that the modules in between keep units apart."""
    convolution = isinstance(layer, nn.modules.conv._ConvNd)
    flattened = False
    for module in between:
        if isinstance(module, nn.Flatten) and convolution and not flattened and \
                module.start_dim == 1 and module.end_dim == -1:
            flattened = True
        elif not (isinstance(module, ELEMENTWISE + EVAL_IDENTITY) or
                  (not flattened and _is_affine_per_unit(module)) or
                  (convolution and not flattened and isinstance(module, CONSTANT_POOLING))):
            raise ValueError(
                f"prune cannot see through {type(module).__name__} between {layer} and "
                f"{following}: only elementwise activations, dropout, batch normalization "
                "with running statistics, and (after a convolution) max or adaptive pooling "
                "and Flatten() are supported")
    units = layer.weight.shape[0]
    inputs = following.weight.shape[1]
    if isinstance(following, nn.Linear) and convolution:
        if not flattened or inputs % units:
            raise ValueError(f"{following} after {layer}: expected Flatten() in between and "
                             f"in_features a multiple of {units}")
        return inputs // units
    if flattened or isinstance(following, nn.Linear) != isinstance(layer, nn.Linear) or \
            following.weight.ndim != layer.weight.ndim or inputs != units:
        raise ValueError(f"prune cannot connect {layer} to {following}")
    return 1


def _constants(layer, between, dead) -> torch.Tensor:
    """``act(b_u)`` for the zeroed units (0 elsewhere): each unit's constant output."""
    bias = layer.bias if layer.bias is not None else layer.weight.new_zeros(len(dead))
    value = bias.detach().clone().reshape(1, -1)
    for module in between:
        if isinstance(module, ELEMENTWISE):
            value = module(value)
        elif isinstance(module, PER_UNIT_AFFINE):  # eval mode: (x - mean) / sqrt(var + eps)
            value = (value - module.running_mean) / (module.running_var + module.eps).sqrt()
            if module.affine:
                value = value * module.weight + module.bias
    return torch.where(dead, value[0], 0.0)


def _is_affine_per_unit(module) -> bool:
    return isinstance(module, PER_UNIT_AFFINE) and module.track_running_stats


def _keep_features(norm, keep):
    """A copy of a batch normalization layer for the ``keep`` units only."""
    new = copy.deepcopy(norm)
    for name in ("weight", "bias"):
        if getattr(norm, name) is not None:
            setattr(new, name, nn.Parameter(getattr(norm, name)[keep].clone(),
                                            requires_grad=getattr(norm, name).requires_grad))
    new.running_mean = norm.running_mean[keep].clone()
    new.running_var = norm.running_var[keep].clone()
    new.num_features = int(keep.sum())
    return new


def _input_blocks(weight: torch.Tensor, spatial: int) -> torch.Tensor:
    """The next layer's weight as ``(out, units, taps)``: the inputs fed by each unit."""
    return weight.reshape(weight.shape[0], -1, spatial * weight[0, 0].numel())


def _folds_exactly(following) -> bool:
    """Whether a constant input channel adds a constant everywhere in ``following``."""
    if isinstance(following, nn.Linear):
        return True
    padding = following.padding
    if padding == "same":
        return all(k == 1 for k in following.kernel_size) or following.padding_mode != "zeros"
    if padding == "valid":
        return True
    return following.padding_mode != "zeros" or not any(padding)


def _keep_units(layer, keep):
    """A copy of ``layer`` with only the ``keep`` units (rows of weight and bias)."""
    spec = UNIT_LAYERS[type(layer)]
    new = copy.deepcopy(layer)
    new.weight = nn.Parameter(layer.weight[keep].clone(),
                              requires_grad=layer.weight.requires_grad)
    if layer.bias is not None:
        new.bias = nn.Parameter(layer.bias[keep].clone(), requires_grad=layer.bias.requires_grad)
    setattr(new, spec.units, int(keep.sum()))
    return new


def _keep_inputs(following, keep, spatial: int, shift: torch.Tensor):
    """A copy of ``following`` reading only the kept units, its bias raised by ``shift``."""
    spec = UNIT_LAYERS[type(following)]
    weight = following.weight
    blocks = weight.reshape(weight.shape[0], -1, spatial, *weight.shape[2:])[:, keep]
    new = copy.deepcopy(following)
    new.weight = nn.Parameter(blocks.reshape(weight.shape[0], -1, *weight.shape[2:]).clone(),
                              requires_grad=weight.requires_grad)
    setattr(new, spec.inputs, new.weight.shape[1])
    if following.bias is not None:
        new.bias = nn.Parameter(following.bias + shift, requires_grad=following.bias.requires_grad)
    elif bool(shift.any()):
        new.bias = nn.Parameter(shift.clone())
    return new
