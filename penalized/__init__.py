"""penalized: regularized machine learning.

One objective everywhere (scikit-learn's Lasso scaling)::

    minimize over w, b:  (1/n) sum_i s_i loss(y_i, x_i . w + b) + alpha * P(w)

See ``penalized.conventions`` for how other libraries' alphas map onto it.
"""

from . import conventions  # alpha conversions between libraries
from ._version import __version__
from .certificates import Certificate, certify
from .cv import CVResult, cross_validate
from .datafits import ALL_DATAFITS, DATAFITS, Datafit, LeastSquares, Logistic, Multinomial
from .exceptions import ConvergenceWarning
from .fit import fit
from .path import alpha_max, path
from .penalties import ALL_PENALTIES, L1, L2, PENALTIES, ElasticNet, Penalty
from .persistence import load  # model folders (no pickle)
from .problem import Problem, make_problem
from .results import FitResult, PathResult

__all__ = [
    "ALL_DATAFITS", "ALL_PENALTIES", "DATAFITS", "PENALTIES", "CVResult", "Certificate",
    "ConvergenceWarning", "Datafit", "ElasticNet", "FitResult", "L1", "L2", "LeastSquares",
    "Logistic", "Multinomial", "PathResult", "Penalty", "Problem", "__version__", "alpha_max",
    "certify", "conventions", "cross_validate", "fit", "load", "make_problem", "path",
]
