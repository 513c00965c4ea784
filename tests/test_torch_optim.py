"""penalty_value and ProximalOptimizer against hand-written formulas, PyTorch and pz.fit."""

import dataclasses
import io
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import penalized as pz  # noqa: E402
from penalized.torch import ProximalOptimizer, penalty_value, prox_, zero_fraction  # noqa: E402

torch.set_num_threads(1)

ENET_PENALTIES = [p for p in pz.ALL_PENALTIES() if p.elastic_net_family]


def soft_threshold(v, t):
    return torch.sign(v) * torch.clamp(v.abs() - t, min=0.0)


def small_net(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 3, kernel_size=3), torch.nn.Flatten(), torch.nn.ReLU(),
        torch.nn.Linear(3 * 4, 5), torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2),
    )


def test_import_penalized_does_not_import_torch():
    code = "import sys, penalized; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("penalty", ENET_PENALTIES, ids=repr)
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("per_coordinate", [False, True])
def test_torch_prox_equals_the_penalty_prox(penalty, positive, per_coordinate):
    # the in-place torch prox against the numpy one of the penalty object, coordinate-wise
    rng = np.random.default_rng(0)
    v = rng.normal(size=(6, 4))
    v[0, :2] = 0.0
    step = rng.uniform(0.1, 2.0, size=(6, 4)) if per_coordinate else np.full((6, 4), 0.8)
    p = dataclasses.replace(penalty, alpha=0.7, positive=positive)
    expected = np.vectorize(lambda vi, si: p.prox(np.array([vi]), si)[0])(v, step)
    param = torch.tensor(v)
    step_arg = torch.tensor(step) if per_coordinate else 0.8
    prox_(param, step_arg, p)
    np.testing.assert_array_equal(param.numpy(), expected)  # same floating-point result
    if per_coordinate:
        np.testing.assert_array_equal(step_arg.numpy(), step)  # the caller's step is untouched


@pytest.mark.parametrize("penalty", ENET_PENALTIES, ids=repr)
def test_penalty_value_matches_numpy_value_and_autograd(penalty):
    net = small_net()
    alpha = 0.3
    value = penalty_value(net, penalty, alpha)
    weights = [net[0].weight, net[3].weight, net[5].weight]
    expected = sum(penalty.with_alpha(alpha).value(w.detach().double().numpy().ravel())
                   for w in weights)
    assert value.item() == pytest.approx(expected, rel=1e-6)
    value.backward()
    r = penalty.ratio
    for w in weights:  # d/dW of alpha * sum(r|W| + (1 - r) W^2 / 2), written by hand
        hand = alpha * (r * torch.sign(w) + (1 - r) * w)
        torch.testing.assert_close(w.grad, hand.detach())
    for module in (net[0], net[3], net[4], net[5]):  # biases and BatchNorm untouched
        assert module.bias.grad is None
    assert net[4].weight.grad is None


def test_conventions_tutorial_keras_and_weight_decay():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    w = layer.weight
    lam = 0.05
    # the tutorial: loss += lam * tf.nn.l2_loss(W), l2_loss = sum(W^2) / 2  ->  alpha = lam
    torch.testing.assert_close(penalty_value(layer, pz.L2(), lam), lam * w.square().sum() / 2)
    # Keras l2(f) = f * sum(W^2) -> alpha = 2 f ; l1(f) = f * sum|W| -> alpha = f
    torch.testing.assert_close(penalty_value(layer, pz.L2(), 2 * lam), lam * w.square().sum())
    torch.testing.assert_close(penalty_value(layer, pz.L1(), lam), lam * w.abs().sum())
    # Keras L1L2(l1=a, l2=b) -> ElasticNet(alpha = a + 2b, l1_ratio = a / (a + 2b))
    a, b = 0.03, 0.02
    enet = pz.ElasticNet(l1_ratio=a / (a + 2 * b))
    torch.testing.assert_close(penalty_value(layer, enet, a + 2 * b),
                               a * w.abs().sum() + b * w.square().sum())
    # PyTorch SGD(weight_decay=wd) on W is the L2 penalty with alpha = wd
    x, y = torch.randn(8, 4), torch.randn(8, 3)
    wd, lr = 0.3, 0.1
    reference = torch.nn.Linear(4, 3)
    reference.load_state_dict(layer.state_dict())
    opt = torch.optim.SGD([{"params": [reference.weight], "weight_decay": wd},
                           {"params": [reference.bias]}], lr=lr)
    torch.nn.functional.mse_loss(reference(x), y).backward()
    opt.step()
    opt2 = torch.optim.SGD(layer.parameters(), lr=lr)
    (torch.nn.functional.mse_loss(layer(x), y) + penalty_value(layer, pz.L2(), wd)).backward()
    opt2.step()
    torch.testing.assert_close(layer.weight, reference.weight)
    torch.testing.assert_close(layer.bias, reference.bias)


def test_sgd_prox_step_is_soft_thresholding_with_exact_zeros():
    torch.manual_seed(0)
    model = torch.nn.Linear(20, 3)
    x, y = torch.randn(30, 20), torch.randn(30, 3)
    lr, alpha = 0.5, 0.2
    before_w, before_b = model.weight.detach().clone(), model.bias.detach().clone()
    opt = ProximalOptimizer(torch.optim.SGD(model.parameters(), lr=lr), pz.L1(), alpha=alpha)
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    grad_w, grad_b = model.weight.grad.clone(), model.bias.grad.clone()
    opt.step()
    expected = soft_threshold(before_w - lr * grad_w, lr * alpha)
    torch.testing.assert_close(model.weight.detach(), expected)
    torch.testing.assert_close(model.bias.detach(), before_b - lr * grad_b)  # bias: plain SGD
    assert (model.weight == 0).sum() > 0 and torch.equal(model.weight == 0, expected == 0)


def test_adam_prox_uses_the_diagonal_metric():
    torch.manual_seed(1)
    model = torch.nn.Linear(10, 2, bias=False)
    x, y = torch.randn(16, 10), torch.randn(16, 2)
    lr, alpha, eps = 0.05, 0.5, 1e-8
    w0 = model.weight.detach().clone()
    opt = ProximalOptimizer(torch.optim.Adam(model.parameters(), lr=lr, eps=eps), "l1", alpha)
    torch.nn.functional.mse_loss(model(x), y).backward()
    g = model.weight.grad.clone()
    opt.step()
    # first Adam step: m_hat = g, v_hat = g^2, so the step of coordinate i is lr/(|g_i| + eps)
    step = lr / (g.abs() + eps)
    expected = soft_threshold(w0 - step * g, step * alpha)
    torch.testing.assert_close(model.weight.detach(), expected)


def _lasso_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8))
    w = np.array([2.0, -1.5, 0, 0, 1.0, 0, 0, 0])
    y = X @ w + 0.3 * rng.normal(size=60)
    alpha = 0.2
    res = pz.fit(X, y, datafit=pz.LeastSquares(), penalty=pz.L1(), alpha=alpha,
                 fit_intercept=False, tol=1e-12)
    return X, y, alpha, res.coef


@pytest.mark.parametrize("make_optimizer", [
    lambda p: torch.optim.SGD(p, lr=0.1),
    lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5),
    lambda p: torch.optim.Adam(p, lr=0.01),
], ids=["sgd", "sgd-momentum", "adam"])
def test_proximal_training_reaches_the_lasso_solution(make_optimizer):
    X, y, alpha, coef = _lasso_problem()
    x, t = torch.tensor(X), torch.tensor(y)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    inner = make_optimizer([w])
    opt = ProximalOptimizer(inner, pz.L1(), alpha=alpha, params=[w])
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=500, gamma=0.5)
    for _ in range(3000):
        opt.zero_grad()
        (0.5 * (t - x @ w).square().mean()).backward()
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(w.detach().numpy(), coef, atol=2e-4)
    np.testing.assert_array_equal(w.detach().numpy() == 0, coef == 0)  # exact zeros


def test_state_dict_round_trip_continues_identically():
    def make():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        opt = ProximalOptimizer(torch.optim.Adam(model.parameters(), lr=0.05), pz.L1(), 0.05)
        return model, opt

    x, y = torch.randn(32, 6), torch.randn(32, 1)

    def train(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()

    model, opt = make()
    train(model, opt, 5)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buffer)
    train(model, opt, 5)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    model2, opt2 = make()
    opt2.set_alpha(1.0)  # overwritten by the loaded state
    model2.load_state_dict(saved["model"])
    opt2.load_state_dict(saved["opt"])
    assert opt2.alpha == pytest.approx(0.05)
    train(model2, opt2, 5)
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert zero_fraction(model) > 0
    other = ProximalOptimizer(torch.optim.Adam(model2.parameters()), pz.L2(), 0.1)
    with pytest.raises(ValueError, match="saved with penalty 'l1'"):
        other.load_state_dict(saved["opt"])


def test_tutorial_architecture_trains_on_random_data():
    # 784 -> 128 -> 10, softmax cross-entropy, Adam, L1 by the proximal step
    torch.manual_seed(0)
    x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = ProximalOptimizer(torch.optim.Adam(model.parameters(), lr=1e-3), pz.L1(), alpha=1e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        (loss + penalty_value(model, pz.L2(), 1e-4)).backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert zero_fraction(model) > 0


def test_clear_errors():
    model = torch.nn.Linear(3, 2)
    adam = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="unknown penalty 'lasso'"):
        ProximalOptimizer(adam, "lasso", 0.1)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        ProximalOptimizer(adam, pz.L1(), -1.0)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        penalty_value(model, pz.L2(), -0.5)
    with pytest.raises(TypeError, match="penalty must be"):
        penalty_value(model, 3, 0.1)
    with pytest.raises(TypeError, match="must be a torch.optim.Optimizer"):
        ProximalOptimizer(model, pz.L1(), 0.1)
    with pytest.raises(TypeError, match="cannot read the step of LBFGS"):
        ProximalOptimizer(torch.optim.LBFGS(model.parameters()), pz.L1(), 0.1)
    with pytest.raises(ValueError, match="nesterov"):
        sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        ProximalOptimizer(sgd, pz.L1(), 0.1)
    with pytest.raises(ValueError, match="maximize"):
        ProximalOptimizer(torch.optim.Adam(model.parameters(), maximize=True), pz.L1(), 0.1)
    with pytest.raises(ValueError, match="parameters of the optimizer"):
        ProximalOptimizer(adam, pz.L1(), 0.1, params=torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="per-feature penalty weights"):
        penalty_value(model, pz.L1(weights=[1.0, 2.0, 3.0]), 0.1)
    with pytest.raises(ValueError, match="no parameters to penalize"):
        penalty_value(torch.nn.ReLU(), pz.L1(), 0.1)


@pytest.mark.parametrize("penalty", ENET_PENALTIES, ids=repr)
@pytest.mark.parametrize("positive", [False, True])
def test_torch_prox_in_quotient_form_equals_the_penalty_prox(penalty, positive):
    # the optimizer's prox with step numerator / denominator (no threshold tensor) against
    # the numpy prox of the penalty object: equal up to rounding, the same exact zeros
    from penalized.torch.penalties import prox_metric_

    rng = np.random.default_rng(1)
    v = rng.normal(size=(30, 20))
    v[0, :3] = 0.0
    denominator = rng.uniform(0.2, 5.0, size=v.shape)
    p = dataclasses.replace(penalty, alpha=0.7, positive=positive)
    lr = 0.9
    expected = np.vectorize(lambda vi, si: p.prox(np.array([vi]), si)[0])(v, lr / denominator)
    param = torch.tensor(v)
    prox_metric_(param, p.alpha * lr, torch.tensor(denominator), p.ratio, positive)
    np.testing.assert_allclose(param.numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(param.numpy() == 0, expected == 0)
    assert (expected == 0).any()
