r"""The pieces of the MLP estimators' training: threads, optimizers, epochs, failure checks.

Kept apart from the estimators (:mod:`penalized.torch.mlp`) so that each piece is short and
testable: the estimators validate their parameters, then call these with plain tensors.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np
import torch
from torch import nn

from ..penalties import Penalty
from .optim import ProximalOptimizer
from .penalties import penalty_value

#: Forward multiply-adds of one batch per intra-op thread. Below this, torch's thread
#: pool costs more than it saves: on a network the size of the digits MLP (64-64-10,
#: batch 200, 1e6 multiply-adds) each operation takes microseconds and two threads
#: already made an epoch several times slower than one, and far worse on a loaded machine
#: (threads waiting at every barrier for a core). 2^25 keeps one thread up to networks of
#: a few hundred units per layer at the usual batch sizes.
MULTIPLY_ADDS_PER_THREAD = 2**25


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}


class CollapsedNetworkWarning(UserWarning):
    """A penalized layer ended entirely zero: the network predicts a constant."""


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """How to build an optimizer, and whether its ``weight_decay`` is a loss gradient.

    ``couples_weight_decay``: the optimizer adds ``weight_decay * W`` to the gradient
    (SGD, Adam), which is exactly the gradient of ``alpha * ||W||^2 / 2`` with
    ``weight_decay = alpha``; AdamW's decoupled decay is not the gradient of any penalty.
    """

    factory: type
    couples_weight_decay: bool


OPTIMIZERS = {
    "adam": OptimizerSpec(torch.optim.Adam, couples_weight_decay=True),
    "adamw": OptimizerSpec(torch.optim.AdamW, couples_weight_decay=False),
    "sgd": OptimizerSpec(torch.optim.SGD, couples_weight_decay=True),
}


def choose_threads(layer_sizes, batch_size: int, device: torch.device) -> int:
    """Intra-op threads for a network of ``layer_sizes`` at ``batch_size`` samples a batch.

    One thread per :data:`MULTIPLY_ADDS_PER_THREAD` forward multiply-adds of a batch, at
    most the caller's setting (``torch.get_num_threads()``), which is kept on a GPU.
    """
    current = torch.get_num_threads()
    if device.type != "cpu":
        return current
    multiply_adds = batch_size * sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:],
                                                           strict=True))
    return max(1, min(current, multiply_adds // MULTIPLY_ADDS_PER_THREAD))


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
    """Run the block with ``n_threads`` torch intra-op threads, then restore the caller's."""
    previous = torch.get_num_threads()
    if n_threads is not None and n_threads != previous:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def make_optimizer(name: str, network: nn.Module, weights: list, learning_rate: float,
                   momentum: float, weight_decay: float, prox: Penalty | None):
    """The optimizer of ``network``: ``weight_decay`` on ``weights`` only, then the prox.

    Fused implementations (one kernel for all parameters instead of several operations per
    parameter) on the CPU and CUDA: on small networks the per-operation dispatch was a
    large part of each batch.
    """
    spec = OPTIMIZERS[name]
    ids = {id(w) for w in weights}
    others = [p for p in network.parameters() if id(p) not in ids]
    # one group when nothing decays: each group is one more fused call per step
    groups = ([{"params": weights, "weight_decay": weight_decay}, {"params": others}]
              if weight_decay else [{"params": [*weights, *others]}])
    options = {"lr": learning_rate, "weight_decay": 0.0}
    if name == "sgd":
        options["momentum"] = momentum
    device = next(network.parameters()).device
    if device.type in ("cpu", "cuda"):
        options["fused"] = True
    optimizer = spec.factory([g for g in groups if g["params"]], **options)
    if prox is not None:
        optimizer = ProximalOptimizer(optimizer, prox, params=weights)
    return optimizer


def run_epoch(network, optimizer, loss_fn, loss_penalty, weights, x, t, batch_size: int,
              generator: torch.Generator) -> float:
    """One pass over ``(x, t)`` in shuffled batches; returns the mean data loss.

    ``loss_penalty`` (or None) is added to each batch's loss as a differentiable term.
    """
    network.train()
    n = x.shape[0]
    order = torch.randperm(n, generator=generator).to(x.device)
    # One gather per epoch, then batches are contiguous views: a gather per batch cost
    # as much as the batch's forward pass on small networks.
    x, t = x[order], t[order]
    total = x.new_zeros(())  # accumulated on the device: no synchronization per batch
    for start in range(0, n, batch_size):
        x_batch, t_batch = x[start:start + batch_size], t[start:start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(network(x_batch), t_batch)
        objective = loss if loss_penalty is None else loss + penalty_value(weights,
                                                                           loss_penalty)
        objective.backward()
        optimizer.step()
        total.add_(loss.detach(), alpha=x_batch.shape[0])
    return float(total) / n


def check_finite(train_loss: float, network: nn.Module, epoch: int, settings: str) -> None:
    """Raise when training diverged: the loss or a parameter overflowed or became NaN.

    The parameters are checked too: the last batch's step may overflow after its loss.
    """
    finite_weights = all(bool(torch.isfinite(p).all()) for p in network.parameters())
    if not (math.isfinite(train_loss) and finite_weights):
        raise ValueError(
            f"training diverged at epoch {epoch}: training loss {train_loss:g}, weights "
            f"{'all finite' if finite_weights else 'not all finite'} ({settings}); "
            "lower the learning rate"
        )


def collapsed_layers(weights: list) -> list[int]:
    """1-based positions of the weight matrices that are entirely zero."""
    return [k + 1 for k, w in enumerate(weights) if not bool(w.detach().any())]


def zero_fraction(weights: list) -> float:
    """Fraction of exactly-zero entries among ``weights``."""
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


class Standardize(nn.Module):
    """``(x - mean) / scale`` with fixed ``mean`` and ``scale`` buffers (not trained).

    The first layer of a fitted estimator's ``module_`` when it standardizes its inputs,
    so that the module alone maps raw features to outputs.
    """

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


def feature_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations; scale 1 for a constant column.

    A column is constant when all its values are equal (a relative test on the standard
    deviation would call a column on a tiny scale, 1e-13, constant when it is not).
    """
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = np.ptp(X, axis=0) == 0
    scale[constant | (scale == 0)] = 1.0
    return mean, scale


def resolve_device(device) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"`` (CUDA when available) or a torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'cpu', 'cuda', 'auto' or a torch.device: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but CUDA is not available")
    return device


def build_network(n_inputs: int, hidden_layer_sizes, n_outputs: int, activation: str,
                  generator: torch.Generator) -> nn.Sequential:
    """Linear layers with ``activation`` in between, initialized from ``generator``.

    The initialization is PyTorch's default for ``nn.Linear`` (Kaiming-uniform weights,
    uniform biases in ``+-1/sqrt(fan_in)``), drawn from ``generator`` so that a seed
    reproduces it without touching the global RNG.
    """
    sizes = [n_inputs, *hidden_layer_sizes, n_outputs]
    layers: list[nn.Module] = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(linear.bias, -bound, bound, generator=generator)
        layers.append(linear)
        if k < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)
