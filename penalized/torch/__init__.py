"""Penalized neural networks in PyTorch.

The penalties of :mod:`penalized` (``pz.L1()``, ``pz.L2()``, ``pz.ElasticNet()``) applied to
network weights: as a differentiable loss term (:func:`penalty_value`), or through their
proximal operator after each optimizer step (:class:`ProximalOptimizer`, which yields exact
zeros for L1), and scikit-learn estimators built on both (:class:`MLPClassifier`,
:class:`MLPRegressor`, and their cross-validated ``*CV`` versions). :class:`NeuronGroupLasso`
zeroes whole units (neurons, channels) and :func:`prune` removes them from the network.

Importing :mod:`penalized` never imports torch; this subpackage does.
"""

from .cv import MLPClassifierCV, MLPRegressorCV, select_alpha
from .groups import NeuronGroupLasso
from .mlp import MLPClassifier, MLPRegressor
from .optim import ProximalOptimizer
from .penalties import penalty_value, prox_, resolve_penalty, select_parameters, zero_fraction
from .prune import prune
from .training import CollapsedNetworkWarning

__all__ = [
    "CollapsedNetworkWarning", "MLPClassifier", "MLPClassifierCV", "MLPRegressor",
    "MLPRegressorCV", "NeuronGroupLasso", "ProximalOptimizer",
    "penalty_value", "prox_", "prune", "resolve_penalty", "select_alpha", "select_parameters",
    "zero_fraction",
]
