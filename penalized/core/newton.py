"""Damped Newton with backtracking, for the small smooth sub-problems of the engine.

Used for the unpenalized part of a problem (free features and intercept) and for the
per-class intercepts of the multinomial datafit: a few parameters, an exact Hessian.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def damped_newton(value: Callable[[np.ndarray], float],
                  direction: Callable[[np.ndarray], np.ndarray | None],
                  theta: np.ndarray, *, max_iter: int = 100,
                  max_halvings: int = 40) -> np.ndarray:
    """Minimize ``value`` from ``theta`` with steps ``theta - t * direction(theta)``.

    ``direction`` returns the Newton direction ``H^+ g`` (``None`` to stop, e.g. when
    the gradient is already zero). The step ``t`` is halved until the value does not
    increase, which keeps the iteration monotone; a quadratic needs one iteration.
    """
    current = value(theta)
    for _ in range(max_iter):
        delta = direction(theta)
        if delta is None:
            break
        step = 1.0
        for _ in range(max_halvings):
            candidate = value(theta - step * delta)
            if candidate <= current + 1e-15 * abs(current):
                break
            step *= 0.5
        else:
            break
        theta, current = theta - step * delta, candidate
        if np.max(np.abs(step * delta)) <= 1e-13 * (1.0 + np.max(np.abs(theta))):
            break
    return theta
