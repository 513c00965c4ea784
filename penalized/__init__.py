"""penalized: regularized machine learning.

One objective everywhere (scikit-learn's Lasso scaling)::

    minimize over w, b:  (1/n) sum_i s_i loss(y_i, x_i . w + b) + alpha * P(w)

See ``penalized.conventions`` for how other libraries' alphas map onto it.
"""

from . import conventions  # alpha conversions between libraries
from ._version import __version__
from .app.persistence import load  # model folders (no pickle)
from .core.certificates import Certificate, certify
from .core.datafits import (
    ALL_DATAFITS,
    DATAFITS,
    Datafit,
    Huber,
    LeastSquares,
    Logistic,
    Multinomial,
    Poisson,
)
from .core.exceptions import ConvergenceWarning
from .core.problem import Problem, make_problem
from .core.results import FitResult, PathResult
from .penalties import ALL_PENALTIES, L1, L2, MCP, PENALTIES, SCAD, ElasticNet, Penalty
from .penalties.group_lasso import GroupLasso, SparseGroupLasso
from .workflows.adaptive import adaptive_cross_validate, adaptive_weights
from .workflows.cv import CVResult, cross_validate
from .workflows.fitting import fit
from .workflows.paths import alpha_max, path

__all__ = [
    "ALL_DATAFITS", "ALL_PENALTIES", "DATAFITS", "PENALTIES", "CVResult", "Certificate",
    "ConvergenceWarning", "Datafit", "ElasticNet", "FitResult", "L1", "L2", "LeastSquares",
    "Logistic", "Multinomial", "PathResult", "Penalty", "Problem", "__version__", "alpha_max",
    "Huber", "Poisson",
    "certify", "conventions", "cross_validate", "fit", "load", "make_problem", "path",
    "GroupLasso", "SparseGroupLasso",
]
__all__ += ["adaptive_cross_validate", "adaptive_weights"]
__all__ += ["MCP", "SCAD"]
