"""The certificate gradient (penalized._gradient): float32 passes and reused passes
within rigorous bounds, exact wherever the certificate can tell."""

import numpy as np
import pytest
import scipy.sparse as sp

import penalized as pz
from penalized.core import gradient as _gradient
from penalized.core.certificates import certify_with_gradient


@pytest.fixture
def bounded(monkeypatch):
    """Float32 and reuse on every size, the copy from the first pass."""
    monkeypatch.setattr(_gradient, "MIN_SIZE", 0)
    monkeypatch.setattr(_gradient, "LOWPREC_MIN_SIZE", 0)
    monkeypatch.setattr(_gradient, "LOWPREC_AFTER", 1)


def exact_mode(monkeypatch):
    monkeypatch.setattr(_gradient, "MIN_SIZE", 10**18)


def wide(n=120, p=400, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse:
        X[rng.random((n, p)) > 0.1] = 0.0
    beta = np.zeros(p)
    beta[:8] = rng.standard_normal(8)
    y = X @ beta + 0.3 * rng.standard_normal(n)
    return (sp.csc_matrix(X) if sparse else np.asfortranarray(X)), y


def test_float32_pass_is_within_its_bound(bounded):
    """Columns over 35 orders of magnitude, a residual with tiny and huge entries: every
    entry of the float32 product is within its bound of the float64 one, and the bound
    is not vacuous (far below the Cauchy-Schwarz size of the entry)."""
    rng = np.random.default_rng(1)
    n, p = 500, 300
    X = np.asfortranarray(rng.standard_normal((n, p)) * np.logspace(-20, 15, p))
    gz = rng.standard_normal(n) * np.logspace(-30, 5, n)
    problem = pz.make_problem(X, np.zeros(n), pz.LeastSquares(), pz.L1())
    approx, bound = _gradient._full_pass(problem, _gradient._data(problem), gz, 1)
    assert approx.dtype == np.float64 and np.any(bound > 0)  # the float32 path ran
    exact = X.T @ gz
    assert np.all(np.abs(approx - exact) <= bound)
    size = np.linalg.norm(X, axis=0) * np.linalg.norm(gz)
    assert np.all(bound <= 1e-3 * size)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csc"])
@pytest.mark.parametrize("penalty", [
    pz.L1(), pz.ElasticNet(l1_ratio=0.5), pz.L1(positive=True),
    pz.L1(weights=np.linspace(0.5, 2.0, 400))], ids=["l1", "enet", "positive", "weights"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_certificates_equal_the_float64_ones(bounded, monkeypatch, sparse, penalty, weighted):
    """Along a sequence of nearby points (as a solver visits them), the certificate, the
    KKT scores and every gradient entry the penalty can tell are those of the float64
    gradient; the other entries are within their bound and below the threshold. The
    sequence must reuse the first pass (fewer passes than certificates)."""
    X, y = wide(sparse=sparse)
    s = np.random.default_rng(2).uniform(0.5, 2.0, y.shape[0]) if weighted else None
    problem = pz.make_problem(X, y, pz.LeastSquares(), penalty, sample_weight=s)
    a_max = pz.alpha_max(X, y, pz.LeastSquares(), penalty, sample_weight=s)
    alpha = 0.05 * a_max
    sol = pz.fit(X, y, pz.LeastSquares(), penalty, alpha=alpha, sample_weight=s, tol=1e-10)
    problem = problem.with_penalty(penalty.with_alpha(alpha))
    rng = np.random.default_rng(3)
    points = [sol.coef * (1.0 + eps * rng.standard_normal(sol.coef.shape))
              for eps in (0.0, 1e-3, 1e-2, 1e-1)]
    points = [np.abs(w) if penalty.positive else w for w in points]
    mixed, exact, ref = [], [], None
    for w in points:  # one chain of iterates: each hands its passes to the next
        mixed.append(certify_with_gradient(problem, w, sol.intercept, ref=ref))
        ref = mixed[-1][4]
    assert 1 <= ref.passes < len(points)
    with monkeypatch.context() as m:
        exact_mode(m)
        fresh = pz.make_problem(X, y, pz.LeastSquares(), penalty.with_alpha(alpha),
                                sample_weight=s)
        exact = [certify_with_gradient(fresh, w, sol.intercept) for w in points]
    levels = penalty.with_alpha(alpha).certificate_levels(X.shape[1])
    for w, (cert, grad, _, err, _), (ref, grad64, _, err64, _) in zip(points, mixed, exact,
                                                                      strict=True):
        assert err64 is None
        err = np.zeros_like(grad) if err is None else err  # None: exact everywhere
        # (gaps at the solution are rounding: 1e-14 of the objective)
        np.testing.assert_allclose(cert.value, ref.value, rtol=1e-9, atol=1e-13 * ref.objective)
        np.testing.assert_allclose(cert.objective, ref.objective, rtol=1e-14)
        known = err == 0
        np.testing.assert_allclose(grad[known], grad64[known], rtol=1e-10, atol=1e-14)
        assert np.all(np.abs(grad - grad64) <= err * (1 + 1e-9) + 1e-14)
        size = -grad if penalty.positive else np.abs(grad)
        assert np.all((w[~known] == 0) & (size[~known] + err[~known] <= levels[~known]))
        pen = problem.penalty
        np.testing.assert_allclose(pen.subdiff_distance(w, grad),
                                   pen.subdiff_distance(w, grad64), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csc"])
def test_path_is_unchanged_by_the_bounded_gradients(bounded, monkeypatch, sparse):
    """A warm-started path: same objectives, every alpha certified, fewer full passes
    than certificates."""
    X, y = wide(sparse=sparse, n=150, p=600)
    full_pass, calls = _gradient._full_pass, []

    def counted(*args):
        calls.append(1)
        return full_pass(*args)

    monkeypatch.setattr(_gradient, "_full_pass", counted)
    res = pz.path(X, y, pz.LeastSquares(), pz.L1(), n_alphas=30, tol=1e-8, engine="python")
    passes = len(calls)
    with monkeypatch.context() as m:
        exact_mode(m)
        ref = pz.path(X, y, pz.LeastSquares(), pz.L1(), n_alphas=30, tol=1e-8)
    np.testing.assert_allclose(res.objectives, ref.objectives, rtol=1e-9)
    assert res.converged.all()
    assert passes < int(res.n_iters.shape[0]) * 2


def test_levels_only_for_an_l1_part():
    assert pz.L2(alpha=1.0).certificate_levels(3) is None
    assert pz.L1(alpha=0.0).certificate_levels(3) is None
    np.testing.assert_allclose(pz.ElasticNet(alpha=2.0, l1_ratio=0.25,
                                             weights=np.array([1.0, 2.0, 0.0]))
                               .certificate_levels(3), [0.5, 1.0, 0.0])


def test_row_major_data_is_refined_exactly_too(bounded):
    """A problem whose dense X is C-ordered (built with ``with_data``, not validated):
    the reused pass is refined by column gathers, and the certificates still match."""
    X, y = wide()
    problem = pz.make_problem(X, y, pz.LeastSquares(), pz.L1(alpha=0.05))
    row_major = problem.with_data(X=np.ascontiguousarray(X))
    w = pz.fit(X, y, pz.LeastSquares(), pz.L1(), alpha=0.05, tol=1e-10).coef
    first = certify_with_gradient(row_major, w, 0.0)
    second = certify_with_gradient(row_major, w * 1.0001, 0.0, ref=first[4])
    assert second[4].passes == 1  # the second reused the first
    for cert, point in ((first, w), (second, w * 1.0001)):
        ref = certify_with_gradient(problem.with_data(X=X), point, 0.0)
        np.testing.assert_allclose(cert[0].value, ref[0].value, rtol=1e-9, atol=1e-12)
