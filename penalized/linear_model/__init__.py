"""scikit-learn drop-in estimators built on penalized's engine.

Replacing ``from sklearn.linear_model import LassoCV`` by
``from penalized.linear_model import LassoCV`` is enough: same parameter names,
defaults and fitted attributes, plus ``rule="min" | "1se"`` on the CV classes,
``coef_path_`` and the certificate of each fit (``certificate_``).
"""

from ._adaptive import AdaptiveLassoCV
from ._coordinate_descent import ElasticNet, ElasticNetCV, Lasso, LassoCV
from ._glm import PoissonRegressor
from ._logistic import LogisticRegression, LogisticRegressionCV
from ._ridge import Ridge, RidgeCV

__all__ = ["ElasticNet", "ElasticNetCV", "Lasso", "LassoCV", "LogisticRegression",
           "LogisticRegressionCV", "PoissonRegressor", "Ridge", "RidgeCV"]
__all__ += ["AdaptiveLassoCV"]
