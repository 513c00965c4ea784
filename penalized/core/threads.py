"""BLAS threads for the engine's small dense factorizations.

OpenBLAS parallelizes even a 200 x 200 Cholesky, and its threads spin while they wait:
on a machine whose cores are busy (another process, or the workers of a parallel
cross-validation) one such factorization measured 0.19 s with two threads against
0.2 ms with one. The engine's factorizations are small (a support, at most a few
thousand features), where one thread is as fast even on an idle machine, so they run
under :func:`single_blas_thread`.
"""

from __future__ import annotations

import contextlib
import functools


@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    return ThreadpoolController()


def single_blas_thread():
    """A context in which BLAS and LAPACK use one thread (about 10 us to enter)."""
    try:
        return _controller().limit(limits=1, user_api="blas")
    except Exception:  # no controllable BLAS found: nothing to limit
        return contextlib.nullcontext()
