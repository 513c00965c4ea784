"""The MLP estimators never fail silently, follow scikit-learn's conventions, and run small
networks on one torch thread without touching the caller's setting."""

import inspect
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_iris  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_estimators_unfitted,
    check_fit2d_1sample,
    check_regressor_multioutput,
    check_supervised_y_2d,
    parametrize_with_checks,
)

import penalized as pz  # noqa: E402
from penalized.torch import (  # noqa: E402
    MLPClassifier,
    MLPClassifierCV,
    MLPRegressor,
    MLPRegressorCV,
    ProximalOptimizer,
)
from penalized.torch import mlp as mlp_module  # noqa: E402
from penalized.torch.cv import FORWARDED_PARAMETERS  # noqa: E402
from penalized.torch.training import (  # noqa: E402
    MULTIPLY_ADDS_PER_THREAD,
    CollapsedNetworkWarning,
    choose_threads,
)
from penalized.workflows.cv import GridEdgeWarning  # noqa: E402


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def small(cls=MLPClassifier, **params):
    defaults = dict(hidden_layer_sizes=(16,), learning_rate=1e-2, batch_size=32, max_epochs=30,
                    random_state=0)
    return cls(**{**defaults, **params})


# ---- never silently wrong --------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_diverging_training_raises_naming_the_epoch(iris):
    X, y = iris
    clf = small(optimizer="sgd", learning_rate=1e6)
    with pytest.raises(ValueError, match=r"diverged at epoch \d+: .*learning_rate=1e\+06"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):  # a failed fit leaves no NaN network to predict with
        clf.predict(X)
    warm = small(max_epochs=2, warm_start=True).fit(X, y)
    before = warm.predict_proba(X)
    with pytest.raises(ValueError, match="diverged"):
        warm.set_params(optimizer="sgd", learning_rate=1e6).fit(X, y)
    np.testing.assert_array_equal(warm.predict_proba(X), before)  # the last good weights


def test_max_epochs_warns_as_scikit_learn_does(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning):  # the peer, on the same budget
        SklearnMLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="max_epochs=3 reached"):
        clf = small(max_epochs=3).fit(X, y)
    assert not clf.converged_ and clf.n_iter_ == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = small(max_epochs=50, tol=10.0, n_iter_no_change=2).fit(X, y)
    assert stopped.converged_ and stopped.n_iter_ == 3  # no epoch improves by 10


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_collapsed_layer_warns_and_predicts_a_constant(iris):
    X, y = iris
    with pytest.warns(CollapsedNetworkWarning, match=r"alpha=1 set every weight of layer"):
        clf = small(penalty=pz.L1(), alpha=1.0).fit(X, y)
    assert 1.0 in clf.layer_sparsity_
    assert np.ptp(clf.predict_proba(X), axis=0).max() == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapsedNetworkWarning)
        small(penalty=pz.L1(), alpha=1e-3).fit(X, y)


def test_cv_warns_once_at_the_grid_edge_and_for_unconverged_folds(iris):
    X, y = iris
    search = MLPClassifierCV(small(penalty=pz.L1(), max_epochs=5), alphas=[3.0, 1.0, 1e-3],
                             cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    categories = [w.category for w in caught]
    assert search.alpha_ == 1e-3
    assert categories.count(GridEdgeWarning) == 1
    # 6 fold fits and the refit path hit max_epochs=5: one summary, one for the refit
    assert categories.count(ConvergenceWarning) == 2
    assert "6 of 6 cross-validation fits" in str(caught[categories.index(ConvergenceWarning)]
                                                   .message)
    assert CollapsedNetworkWarning not in categories  # alpha=3 collapses, inside the folds


# ---- scikit-learn conformance ----------------------------------------------------------


@pytest.mark.parametrize("check", [check_estimators_unfitted, check_fit2d_1sample],
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor], ids=lambda c: c.__name__)
def test_scikit_learn_checks(cls, check):
    check(cls.__name__, small(cls, max_epochs=5))


def test_regressor_declares_and_fits_multi_output():
    assert get_tags(MLPRegressor()).target_tags.multi_output
    assert get_tags(MLPRegressorCV()).target_tags.multi_output
    assert not get_tags(MLPClassifier()).target_tags.multi_output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_supervised_y_2d("MLPRegressor", small(MLPRegressor, max_epochs=5))
        check_regressor_multioutput("MLPRegressor", small(MLPRegressor, max_epochs=5))


def test_cv_takes_the_estimator_keywords(iris):
    X, y = iris
    signature = set(inspect.signature(MLPClassifier).parameters) - {"alpha", "warm_start"}
    assert set(FORWARDED_PARAMETERS) == signature
    assert signature <= set(inspect.signature(MLPClassifierCV).parameters)
    keywords = dict(hidden_layer_sizes=(8,), max_epochs=4, learning_rate=1e-2,
                    penalty=pz.L1(), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_keyword = MLPClassifierCV(alphas=[1e-2, 1e-3], cv=2, **keywords).fit(X, y)
        by_template = MLPClassifierCV(MLPClassifier(**keywords), alphas=[1e-2, 1e-3],
                                      cv=2).fit(X, y)
    assert by_keyword.best_estimator_.coefs_[0].shape == (4, 8)
    np.testing.assert_array_equal(by_keyword.fold_scores_, by_template.fold_scores_)
    assert clone(by_keyword).get_params()["hidden_layer_sizes"] == (8,)


def test_scikit_learn_attribute_names(iris):
    X, y = iris
    names = ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
             "n_iter_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for early_stopping in (False, True):
            ours = small(max_epochs=6, early_stopping=early_stopping).fit(X, y)
            peer = SklearnMLPClassifier((16,), max_iter=6, early_stopping=early_stopping,
                                        random_state=0).fit(X, y)
            for name in names:  # the same attributes, None in the same cases
                assert (getattr(ours, name) is None) == (getattr(peer, name) is None), name
            assert len(ours.loss_curve_) == ours.n_iter_
            assert ours.loss_curve_ == ours.history_["objective"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_inputs_are_standardized_inside_the_estimator():
    X, y = load_breast_cancer(return_X_y=True)
    X = np.c_[X, np.full(len(X), 3.0)]  # a constant column: centered, not divided by 0
    inside = small(max_epochs=5, early_stopping=True).fit(X, y)
    scaled = StandardScaler().fit_transform(X)
    outside = small(max_epochs=5, early_stopping=True, standardize=False).fit(scaled, y)
    for ours, theirs in zip(inside.coefs_, outside.coefs_, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(inside.predict_proba(X), outside.predict_proba(scaled),
                               atol=1e-5)
    raw = inside.module_(torch.as_tensor(X, dtype=torch.float32)).softmax(1)
    np.testing.assert_allclose(raw.detach().numpy(), inside.predict_proba(X), atol=1e-6)
    # the raw columns (up to ~4000) are what standardization is for
    unscaled = small(max_epochs=5, standardize=False).fit(X, y)
    assert inside.score(X, y) > unscaled.score(X, y) + 0.02


def test_l2_as_weight_decay_equals_the_loss_term(iris):
    # adam: coupled weight_decay = alpha; adamw: the loss term, AdamW(weight_decay=0) = Adam
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        decay = small(penalty=pz.L2(), alpha=0.05, max_epochs=8).fit(X, y)
        term = small(penalty=pz.L2(), alpha=0.05, max_epochs=8, optimizer="adamw").fit(X, y)
    for a, b in zip(decay.coefs_, term.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ---- threads ----------------------------------------------------------------------------


def test_small_networks_train_on_one_thread_and_restore_the_callers(iris, monkeypatch):
    X, y = iris
    seen = []
    run_epoch = mlp_module.run_epoch

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(mlp_module, "run_epoch", recording)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = small(max_epochs=2).fit(X, y)
        assert torch.get_num_threads() == 2
        clf.predict(X)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert seen == [1, 1]
    cpu = torch.device("cpu")
    assert choose_threads([64, 64, 10], 200, cpu) == 1
    big = [4096, 4096, 10]
    wanted = 256 * 4096 * (4096 + 10) // MULTIPLY_ADDS_PER_THREAD
    assert choose_threads(big, 256, cpu) == min(wanted, torch.get_num_threads())


# ---- ProximalOptimizer -------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-0.01, float("nan")])
def test_proximal_optimizer_refuses_a_bad_learning_rate_at_step(bad):
    model = torch.nn.Linear(4, 2)
    opt = ProximalOptimizer(torch.optim.SGD(model.parameters(), lr=0.1), pz.L1(), alpha=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt.optimizer, lambda epoch: 1.0 - 2 * epoch)
    torch.nn.functional.mse_loss(model(torch.randn(8, 4)), torch.randn(8, 2)).backward()
    opt.step()
    scheduler.step()  # lr = 0.1 * (1 - 2) < 0
    before = model.weight.detach().clone()
    with pytest.raises(ValueError, match=r"learning rate of parameter group 0 is -0.1"):
        opt.step()
    opt.param_groups[0]["lr"] = bad
    with pytest.raises(ValueError, match="needs a finite lr >= 0"):
        opt.step()
    assert torch.equal(model.weight, before)  # refused before the wrapped step


@pytest.mark.slow
@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0),
                          MLPClassifierCV(max_epochs=30, random_state=0, alphas=[1e-2, 1e-4],
                                          cv=2),
                          MLPRegressorCV(max_epochs=30, random_state=0, alphas=[1e-2, 1e-4],
                                         cv=2)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_scikit_learn_check(estimator, check):
    # no expected failures: every check of scikit-learn passes (about 90 s in all)
    check(estimator)
