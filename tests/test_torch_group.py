"""NeuronGroupLasso (block prox of a layer's units) and prune (removing the zero units)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from torch import nn  # noqa: E402

from penalized.torch import (  # noqa: E402
    MLPClassifier,
    MLPClassifierCV,
    NeuronGroupLasso,
    ProximalOptimizer,
    penalty_value,
    prune,
    resolve_penalty,
)
from penalized.torch.groups import block_prox_  # noqa: E402

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def n_parameters(model):
    return sum(p.numel() for p in model.parameters())


def zero_rows(weight):
    return (~weight.detach().flatten(1).any(dim=1)).numpy()


# ---- the penalty and its prox -------------------------------------------------------------
@pytest.mark.parametrize("with_bias", [False, True])
def test_block_prox_uniform_step_is_the_block_soft_threshold(with_bias):
    rng = np.random.default_rng(0)
    v, b = rng.normal(size=(7, 5)), rng.normal(size=7)
    v[0], b[0] = 0.0, 0.0  # a zero unit stays zero (no 0 / 0)
    v[1], b[1] = 0.01 * v[1], 0.01 * b[1]  # below the threshold
    step, omega = 0.4, 1.5
    full = np.c_[v, b] if with_bias else v
    norms = np.linalg.norm(full, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        expected = full * np.maximum(0.0, 1.0 - step * omega / norms)
    parts = [torch.tensor(v), torch.tensor(b)] if with_bias else [torch.tensor(v)]
    block_prox_(parts, [step] * len(parts), omega)
    got = np.c_[parts[0].numpy(), parts[1].numpy()] if with_bias else parts[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    assert not got[:2].any() and got[2:].all()


def test_block_prox_in_a_diagonal_metric_satisfies_its_optimality_conditions():
    # prox of omega ||u|| in the metric of per-coordinate steps s (Adam's): u = 0 iff
    # ||v / s|| <= omega, else (u - v) / s + omega u / ||u|| = 0; steps spread over 4 decades
    rng = np.random.default_rng(1)
    v, b = rng.normal(size=(40, 9)), rng.normal(size=40)
    v[:5], b[:5] = 1e-6 * v[:5], 1e-6 * b[:5]  # below the threshold for any step here
    steps = 10.0 ** rng.uniform(-4, 0, size=(40, 9))
    bias_steps = 10.0 ** rng.uniform(-4, 0, size=40)
    omega = 2.0
    weight, bias = torch.tensor(v), torch.tensor(b)
    # weight: a tensor of steps; bias: (numerator, denominator) as the adaptive optimizers give
    block_prox_([weight, bias], [torch.tensor(steps), (3.0, torch.tensor(3.0 / bias_steps))],
                omega)
    u, full, s = np.c_[weight.numpy(), bias.numpy()], np.c_[v, b], np.c_[steps, bias_steps]
    zero = ~u.any(axis=1)
    np.testing.assert_array_equal(zero, np.linalg.norm(full / s, axis=1) <= omega)
    assert 0 < zero.sum() < 40
    residual = (u - full) / s + omega * u / np.where(zero, 1.0, np.linalg.norm(u, axis=1))[:, None]
    scale = np.abs(full / s).max(axis=1, keepdims=True)
    assert np.abs(residual[~zero] / scale[~zero]).max() < 1e-12


def test_block_prox_metric_route_equals_the_closed_form_for_a_uniform_metric():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(6, 4)).astype(np.float32)
    closed, newton = torch.tensor(v), torch.tensor(v)
    block_prox_([closed], [0.3], 1.2)
    block_prox_([newton], [torch.full((6, 4), 0.3)], 1.2)
    torch.testing.assert_close(newton, closed, rtol=1e-6, atol=1e-7)


def test_group_penalty_value_matches_numpy_and_names_resolve():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(3 * 4, 5))
    conv, linear = net[0], net[2]
    for include_bias in (False, True):
        expected = 0.0
        for layer in (conv, linear):
            w = layer.weight.detach().numpy().reshape(layer.weight.shape[0], -1)
            if include_bias:
                w = np.c_[w, layer.bias.detach().numpy()]
            expected += np.sqrt(w.shape[1]) * np.linalg.norm(w, axis=1).sum()
        value = penalty_value(net, NeuronGroupLasso(include_bias=include_bias), alpha=0.3)
        assert value.item() == pytest.approx(0.3 * expected, rel=1e-6)
    unweighted = penalty_value(net, NeuronGroupLasso(size_weighted=False), alpha=1.0)
    assert unweighted.item() == pytest.approx(
        sum(np.linalg.norm(m.weight.detach().numpy().reshape(m.weight.shape[0], -1), axis=1).sum()
            for m in (conv, linear)), rel=1e-6)
    assert resolve_penalty("group", 0.5) == NeuronGroupLasso(alpha=0.5)
    with pytest.raises(ValueError, match="needs the module"):
        penalty_value(list(net.parameters())[:1], NeuronGroupLasso(include_bias=True))


# ---- training -------------------------------------------------------------------------------
def group_lasso_reference(X, Y, alpha, omega, iterations=5000):
    """Proximal gradient (numpy) for mean ||y - W x - b||^2 / 2 + alpha sum_rows omega ||W_r||."""
    n = X.shape[0]
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)  # the intercept is the mean residual
    step = 1.0 / np.linalg.eigvalsh(Xc.T @ Xc / n).max()
    W = np.zeros((Y.shape[1], X.shape[1]))
    for _ in range(iterations):
        V = W - step * (W @ Xc.T - Yc.T) @ Xc / n
        norms = np.linalg.norm(V, axis=1, keepdims=True)
        W = V * np.maximum(0.0, 1.0 - step * alpha * omega / np.maximum(norms, 1e-300))
    return W


def test_adam_with_the_group_prox_reaches_the_group_lasso_solution():
    # One layer: the objective is convex, so the prox in Adam's metric must reach the same
    # solution as textbook proximal gradient, with the same exactly-zero rows.
    rng = np.random.default_rng(0)
    n, p = 200, 10
    X = rng.normal(size=(n, p))
    B = np.zeros((6, p))
    B[:3] = rng.normal(size=(3, p))
    B[3] = 0.02 * rng.normal(size=p)  # weak: the penalty removes it
    Y = X @ B.T + 0.5 * rng.normal(size=(n, 6)) + 1.0
    alpha = 0.06
    reference = group_lasso_reference(X, Y, alpha, np.sqrt(p))
    torch.manual_seed(0)
    layer = nn.Linear(p, 6).double()
    opt = ProximalOptimizer(torch.optim.Adam(layer.parameters(), lr=1e-2), "group", alpha=alpha)
    x, y = torch.tensor(X), torch.tensor(Y)
    for k in range(1500):
        if k == 1000:
            for group in opt.param_groups:
                group["lr"] = 1e-3
        opt.zero_grad()
        (0.5 * (layer(x) - y).square().sum(1).mean()).backward()
        opt.step()
    W = layer.weight.detach().numpy()
    np.testing.assert_array_equal(zero_rows(layer.weight), ~reference.any(axis=1))
    assert zero_rows(layer.weight)[3:].all() and not zero_rows(layer.weight)[:3].any()
    np.testing.assert_allclose(W, reference, atol=2e-3)
    assert (W[:3] != 0).all()  # the kept rows are scaled, not thresholded entrywise


def test_group_prox_with_grouped_biases_and_state_dict():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    opt = ProximalOptimizer(torch.optim.SGD(net.parameters(), lr=0.1),
                            NeuronGroupLasso(include_bias=True), alpha=10.0, params=net)
    x, y = torch.randn(20, 4), torch.randn(20, 1)
    nn.functional.mse_loss(net(x), y).backward()
    opt.step()
    assert not net[0].weight.any() and not net[0].bias.any()  # strong: weights and biases
    restored = ProximalOptimizer(torch.optim.SGD(net.parameters(), lr=0.1),
                                 NeuronGroupLasso(include_bias=True), params=net)
    restored.load_state_dict(opt.state_dict())
    assert restored.alpha == 10.0
    other = ProximalOptimizer(torch.optim.SGD(net.parameters(), lr=0.1), "group")
    with pytest.raises(ValueError, match="saved with penalty 'group'"):
        other.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="needs the module"):
        ProximalOptimizer(torch.optim.SGD(net.parameters(), lr=0.1),
                          NeuronGroupLasso(include_bias=True))


def test_group_prox_zeroes_whole_conv_channels_then_prune_keeps_the_function():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(8 * 3 * 3, 3))
    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 3, (64,))
    opt = ProximalOptimizer(torch.optim.Adam(net.parameters(), lr=1e-2), "group", alpha=0.013)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    channels = zero_rows(net[0].weight)
    assert 0 < channels.sum() < 8
    kernels = net[0].weight.detach().numpy()[~channels]
    assert (kernels != 0).all()  # zeros only in whole channels
    small = prune(net)
    assert small[0].out_channels == 8 - channels.sum()
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def iris_split():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def group_classifier(iris_split):
    X_train, _, y_train, _ = iris_split
    return MLPClassifier((32, 16), penalty="group", alpha=3e-3, learning_rate=1e-2,
                         batch_size=32, max_epochs=150, random_state=0).fit(X_train, y_train)


def test_mlp_group_penalty_zeroes_whole_units(group_classifier, iris_split):
    _, X_test, _, y_test = iris_split
    network = group_classifier.module_[1]
    for layer in (network[0], network[2]):
        rows = zero_rows(layer.weight)
        nonzero_entries = layer.weight.detach().numpy()[~rows]
        assert (nonzero_entries != 0).all()  # zeros come in whole units only
    assert zero_rows(network[0].weight).sum() >= 8
    assert group_classifier.score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match="biases unpenalized"):
        MLPClassifier(penalty=NeuronGroupLasso(include_bias=True)).fit(X_test, y_test)


def test_prune_mlp_network_same_predictions_fewer_parameters(group_classifier, iris_split):
    _, X_test, _, _ = iris_split
    module = group_classifier.module_
    before = {k: v.clone() for k, v in module.state_dict().items()}
    small = prune(module)
    x = torch.as_tensor(X_test, dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(small(x), module(x), rtol=1e-5, atol=1e-5)
    hidden = [zero_rows(module[1][k].weight).sum() for k in (0, 2)]
    assert small[1][0].out_features == 32 - hidden[0]
    assert small[1][2].in_features == 32 - hidden[0]
    assert n_parameters(small) < n_parameters(module)
    assert small[1][4].out_features == 3  # the output layer keeps its units
    for key, value in module.state_dict().items():  # the input is not modified
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_mlp_cv_takes_the_group_penalty(iris_split):
    X_train, X_test, y_train, y_test = iris_split
    search = MLPClassifierCV(hidden_layer_sizes=(16,), penalty="group", learning_rate=1e-2,
                             batch_size=32, max_epochs=30, random_state=0,
                             alphas=[3e-2, 1e-3], cv=2).fit(X_train, y_train)
    assert search.alpha_ in (3e-2, 1e-3)
    assert search.best_estimator_.penalty_ == NeuronGroupLasso(alpha=search.alpha_)
    assert search.score(X_test, y_test) > 0.8


# ---- prune ------------------------------------------------------------------------------------
def zero_units(layer, units):
    with torch.no_grad():
        layer.weight[units] = 0.0


def test_prune_linear_chain_folds_constant_units_and_drops_unused_ones():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 6),
                        nn.Sigmoid(), nn.Linear(6, 3)).eval()
    zero_units(net[0], [1, 4, 5])  # constants tanh(b): folded into net[3]'s bias
    zero_units(net[3], [0, 2])  # constants sigmoid(b') of the new bias: folded into net[5]
    with torch.no_grad():
        net[5].weight[:, 3] = 0.0  # unit 3 of net[3] is unused
    small = prune(net)
    assert [small[0].out_features, small[3].in_features] == [5, 5]
    assert [small[3].out_features, small[5].in_features] == [3, 3]
    x = torch.randn(50, 5)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-6, atol=1e-6)


def test_prune_without_zero_units_returns_an_equal_model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 7), nn.ReLU(), nn.Linear(7, 2))
    small = prune(net)
    assert small is not net and n_parameters(small) == n_parameters(net)
    x = torch.randn(10, 4)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=0, atol=0)


def test_prune_conv_channels_through_pooling_and_flatten():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 6, 3), nn.ReLU(), nn.Conv2d(6, 5, 3, padding=1,
                                                                   padding_mode="reflect"),
                        nn.GELU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(5 * 4 * 4, 4))
    with torch.no_grad():
        net[0].bias.copy_(torch.linspace(0.1, 0.6, 6))  # ReLU keeps the constants non-zero
    zero_units(net[0], [0, 3])
    zero_units(net[2], [1, 2, 4])
    small = prune(net)
    assert [small[0].out_channels, small[2].in_channels, small[2].out_channels] == [4, 4, 2]
    assert small[6].in_features == 2 * 16
    x = torch.randn(8, 2, 10, 10)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)
    assert n_parameters(small) < n_parameters(net)


def test_prune_through_batch_normalization_in_evaluation_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(),
                        nn.Linear(6 * 4 * 4, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 3))
    with torch.no_grad():
        for norm in (net[1], net[5]):  # statistics and scales away from the defaults
            n = norm.num_features
            norm.running_mean.copy_(torch.randn(n))
            norm.running_var.copy_(torch.rand(n) + 0.5)
            norm.weight.copy_(torch.randn(n))
            norm.bias.copy_(torch.randn(n))
    zero_units(net[0], [1, 4])
    zero_units(net[4], [2])
    small = prune(net.eval()).eval()
    assert [small[0].out_channels, small[1].num_features, small[4].in_features] == [4, 4, 64]
    assert [small[4].out_features, small[5].num_features, small[7].in_features] == [4, 4, 4]
    x = torch.randn(7, 2, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)


def test_prune_conv_before_zero_padding_removes_only_zero_constants():
    # with zero padding the next convolution sees a constant channel only partly at the
    # borders: a channel whose constant is not 0 must stay
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))
    with torch.no_grad():
        net[0].bias.copy_(torch.tensor([-0.5, 0.5, 0.3, 0.2]))
    zero_units(net[0], [0, 1])  # constants relu(-0.5) = 0 and relu(0.5) = 0.5
    small = prune(net)
    assert small[0].out_channels == 3
    x = torch.randn(3, 1, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("model, message", [
    (nn.Linear(3, 2), "needs an nn.Sequential"),
    (nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False), nn.ReLU(),
                   nn.Linear(4, 2)), "cannot see through BatchNorm1d"),
    (nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1), nn.Linear(4, 2)),
     "cannot see through Softmax"),
    (nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Conv2d(4, 2, 3)),
     "grouped convolutions"),
    (nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.ConvTranspose2d(4, 2, 3)),
     "got ConvTranspose2d"),
    (nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Linear(4, 2)), "expected Flatten"),
])
def test_prune_refuses_architectures_it_cannot_follow(model, message):
    error = TypeError if message.startswith("needs") else ValueError
    with pytest.raises(error, match=message):
        prune(model)
