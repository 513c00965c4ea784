"""Penalties: the ``alpha * P(w)`` part of the objective.

``ALL_PENALTIES`` is the registry: tests, docs and the CLI iterate over it, so a
new penalty touches its own module and one line here.
"""

from .base import Penalty
from .elastic_net import L1, L2, ElasticNet
from .group_lasso import GroupLasso, SparseGroupLasso
from .mcp import MCP
from .scad import SCAD

#: name -> class; the CLI's ``--penalty`` choices and the tests read this.
PENALTIES: dict[str, type[Penalty]] = {cls.name: cls for cls in (L1, L2, ElasticNet)}
PENALTIES.update({cls.name: cls for cls in (GroupLasso, SparseGroupLasso)})
PENALTIES.update({cls.name: cls for cls in (MCP, SCAD)})


def ALL_PENALTIES() -> list[Penalty]:  # noqa: N802 - a registry, read like a constant
    """One representative instance of each registered penalty (for tests and docs)."""
    return [L1(), L2(), ElasticNet(l1_ratio=0.5)] + [
        # groups of 3 consecutive features: serves any number of features
        GroupLasso(groups=3), SparseGroupLasso(groups=3, l1_ratio=0.5)] + [
        MCP(gamma=3.0), SCAD(gamma=3.7)]


__all__ = ["ALL_PENALTIES", "PENALTIES", "ElasticNet", "GroupLasso", "L1", "L2", "Penalty",
           "SparseGroupLasso"]
__all__ += ["MCP", "SCAD"]
