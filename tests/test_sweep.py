from unittest import mock

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from skltnn import TNNClassifier
from skltnn._batches import BatchStream
from skltnn._contract import cores_to_dense, squared_norm
from skltnn._network import TNNetwork, layer_dims
from skltnn._layers import MPOLinear
from skltnn._objective import Objective
from skltnn._solvers import DMRGSweeper
from skltnn._solvers._line_search import MAX_SCALE
from skltnn._solvers._sweep import bond_visits, visit_steps

from .conftest import FAST


def sweeper_for(net, learning_rate, bond_dim, svd_cutoff=0.0, strategy="all_layers"):
    return DMRGSweeper(net, learning_rate=learning_rate, bond_dim=bond_dim, svd_cutoff=svd_cutoff, sweep=strategy)


@pytest.fixture
def autograd_visits(monkeypatch):
    """Bond visits differentiated by autograd from the bond's environment (the path of wide layers)."""
    monkeypatch.setattr(MPOLinear, "dense_environment", lambda *args: None)


def linear_network(seed=0, bond_dim=3, n_outputs=8):
    """One TN layer 12 -> 8 with identity activation and no projection."""
    g = torch.Generator().manual_seed(seed)
    dims = layer_dims((12, 8), n_cores=3)
    return TNNetwork(12, n_outputs, (8,), dims, bond_dim, ("identity",), "none", g, torch.float64, "cpu")


def squared_loss(net, X, Y):
    """The objective 1/2 mean((output - Y)^2) of a network."""
    return Objective(net, X, Y, torch.ones(len(X), dtype=X.dtype), "squared_error")


def layer_only(sweeper):
    """Make the network's output its TN layer's (an identity output layer) and
    keep the dense parameters fixed, so that the sweep trains the cores alone."""
    net = sweeper.network
    with torch.no_grad():
        net.output.weight.copy_(torch.eye(net.output.weight.shape[0], dtype=net.output.weight.dtype))
        net.output.bias.zero_()
    sweeper.line_search.dense_optimizer.learning_rate = 0.0
    return sweeper


def env_dense(cores):
    """Dense contraction of a run of cores keeping both open bonds: (D_l, I, O, D_r)."""
    m = cores[0]
    for core in cores[1:]:
        a, n_i, n_o, _ = m.shape
        _, i, o, d = core.shape
        m = torch.einsum("aIOb,biod->aIiOod", m, core).reshape(a, n_i * i, n_o * o, d)
    return m


def eq7_gradient(cores, bond, X, residual):
    """Paper Eq. (7): dL/dB for L = 1/2 sum (X W - Y)^2 is the network with B removed."""
    one = torch.ones(1, 1, 1, 1, dtype=X.dtype)
    left = env_dense(cores[:bond]) if bond > 0 else one
    right = env_dense(cores[bond + 2:]) if bond + 2 < len(cores) else one
    _, i1, o1, _ = cores[bond].shape
    _, i2, o2, _ = cores[bond + 1].shape
    n = X.shape[0]
    Xr = X.reshape(n, left.shape[1], i1, i2, right.shape[1])
    Rr = residual.reshape(n, left.shape[2], o1, o2, right.shape[2])
    return torch.einsum("xIOa,nIijK,nOopL,cKLy->aiojpc", left, Xr, Rr, right)


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("bond", [0, 1])
def test_autograd_bond_gradient_equals_paper_eq7(bond, l2, autograd_visits):
    net = linear_network()
    X = torch.randn(20, 12, dtype=torch.float64)
    Y = torch.randn(20, 8, dtype=torch.float64)
    layer = net.tn_layers[0]
    loss = squared_loss(net, X, Y)

    lr = 1e-3
    sweeper = layer_only(sweeper_for(net, lr, bond_dim=64))
    cores = [c.detach().clone() for c in layer.cores]
    residual = X @ cores_to_dense(cores) - Y
    # Eq. 7 is the gradient of 1/2 sum (X W - Y)^2; the objective is its mean over rows and outputs.
    expected = eq7_gradient(cores, bond, X, residual) / Y.numel()
    B = torch.einsum("aiob,bjpc->aiojpc", cores[bond], cores[bond + 1])

    stream = BatchStream(20, 20, shuffle=False, rng=np.random.RandomState(0), device="cpu")
    sweeper.update_bond(0, bond, "right", loss, l2, stream)
    # No truncation at this bond dimension: the new layer is exactly
    # B - lr * (Eq. 7 + the gradient 2 l2 B of the penalty l2 ||W||^2 = l2 ||B||^2).
    new = [c.detach() for c in layer.cores]
    B_new = torch.einsum("aiob,bjpc->aiojpc", new[bond], new[bond + 1])
    torch.testing.assert_close(B_new, B - lr * (expected + 2 * l2 * B), atol=1e-10, rtol=1e-10)


def test_split_moves_the_orthogonality_centre_and_keeps_w_at_zero_step(autograd_visits):
    net = linear_network(bond_dim=64)
    layer = net.tn_layers[0]
    X = torch.randn(10, 12, dtype=torch.float64)
    total_output = squared_loss(net, X, torch.randn(10, 8, dtype=torch.float64))

    sweeper = layer_only(sweeper_for(net, 0.0, 64))
    W0 = cores_to_dense([c.detach() for c in layer.cores])
    stream = BatchStream(10, 10, False, np.random.RandomState(0), "cpu")
    sweeper.update_bond(0, 0, "right", total_output, 0.0, stream)
    cores = [c.detach() for c in layer.cores]
    torch.testing.assert_close(cores_to_dense(cores), W0)
    left = cores[0].reshape(-1, cores[0].shape[3])
    torch.testing.assert_close(left.T @ left, torch.eye(left.shape[1], dtype=torch.float64))
    right = cores[2].reshape(cores[2].shape[0], -1)
    torch.testing.assert_close(right @ right.T, torch.eye(right.shape[0], dtype=torch.float64))
    sweeper.update_bond(0, 1, "left", total_output, 0.0, stream)
    torch.testing.assert_close(cores_to_dense([c.detach() for c in layer.cores]), W0)
    # Moving left at bond 1 leaves the centre on core 1: core 2 is right-orthonormal.
    m = layer.cores[2].detach().reshape(layer.cores[2].shape[0], -1)
    torch.testing.assert_close(m @ m.T, torch.eye(m.shape[0], dtype=torch.float64))


def test_truncation_respects_bond_dim_and_cutoff(autograd_visits):
    net = linear_network(bond_dim=16)
    X, Y = torch.randn(30, 12, dtype=torch.float64), torch.randn(30, 8, dtype=torch.float64)
    loss = squared_loss(net, X, Y)

    stream = BatchStream(30, 30, False, np.random.RandomState(0), "cpu")
    sweeper_for(net, 0.1, 2).run_iteration(loss, 0.0, stream)
    assert max(net.tn_layers[0].mpo.bond_dims) <= 2
    # A cutoff of 1 keeps only singular values equal to the largest: rank 1 for generic data.
    sweeper_for(net, 0.1, 16, 0.999).run_iteration(loss, 0.0, stream)
    assert net.tn_layers[0].mpo.bond_dims == (1, 1)


def test_sweep_lowers_the_loss(autograd_visits):
    torch.manual_seed(0)
    net = linear_network(bond_dim=4, n_outputs=1)
    X = torch.randn(64, 12, dtype=torch.float64)
    loss = squared_loss(net, X, X @ torch.randn(12, 1, dtype=torch.float64) * 0.3)

    sweeper = sweeper_for(net, 0.05, 4)
    stream = BatchStream(64, 16, True, np.random.RandomState(0), "cpu")
    first = sweeper.run_iteration(loss, 0.0, stream)
    for _ in range(30):
        last = sweeper.run_iteration(loss, 0.0, stream)
    assert last < 0.2 * first


@pytest.mark.parametrize("strategy", ["all_layers", "layer_by_layer"])
def test_every_visit_finds_the_layer_in_mixed_canonical_form(strategy, autograd_visits):
    # The sweep's L2 term relies on ||W||^2 = ||B||^2 at every visited bond.
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(3, 2, (16, 8), layer_dims((16, 16, 8), n_cores=3), 3, ("relu", "relu"), "fixed", g,
                    torch.float64, "cpu")
    X, y = torch.randn(40, 3, dtype=torch.float64), torch.randint(0, 2, (40,))
    sweeper = sweeper_for(net, 0.05, 3, strategy=strategy)
    visits, steps = [], []
    update_bond, step = sweeper.update_bond, sweeper.line_search.step

    def visit(layer_index, bond, *args):
        visits.append((layer_index, bond))
        return update_bond(layer_index, bond, *args)

    def checked_step(layer_index, problem, index, B, *args, **kwargs):
        layer_index, bond = visits[-1]
        cores = [c.detach() for c in net.tn_layers[layer_index].cores]
        torch.testing.assert_close(squared_norm(cores[:bond] + [B] + cores[bond + 2:]), B.pow(2).sum())
        steps.append(bond)
        return step(layer_index, problem, index, B, *args, **kwargs)

    sweeper.update_bond, sweeper.line_search.step = visit, checked_step
    stream = BatchStream(40, 20, True, np.random.RandomState(0), "cpu")
    objective = Objective(net, X, y, torch.ones(40, dtype=torch.float64), "cross_entropy")
    for _ in range(2):
        sweeper.run_iteration(objective, 1e-3, stream)
    assert len(steps) == 2 * len(sweeper.visits) * stream.n_batches


def test_bond_visits():
    assert bond_visits([2, 1], "all_layers") == [
        (0, 0, "right"), (0, 1, "right"), (1, 0, "right"),
        (1, 0, "left"), (0, 1, "left"), (0, 0, "left"),
    ]
    assert bond_visits([2, 1], "layer_by_layer") == [
        (0, 0, "right"), (0, 1, "right"), (0, 1, "left"), (0, 0, "left"),
        (1, 0, "right"), (1, 0, "left"),
    ]


def test_visits_share_whole_epochs_but_take_at_least_two_batches():
    assert visit_steps(1, 4) == [1, 1, 1, 1]  # small data: every visit takes the epoch
    assert visit_steps(2, 4) == [2, 2, 2, 2]
    assert visit_steps(3, 4) == [2, 2, 2, 3]  # three epochs
    assert visit_steps(15, 4) == [3, 4, 4, 4]  # one epoch
    assert visit_steps(15, 16) == [2, 3, 3, 3, 3, 2, 3, 3, 3, 3, 2, 3, 3, 3, 3, 3]  # three epochs
    assert visit_steps(1000, 6) == [166, 167, 167, 166, 167, 167]
    for n_visits in range(1, 21):
        for n_batches in range(1, 101):
            steps, floor = visit_steps(n_batches, n_visits), min(n_batches, 2)
            assert min(steps) >= floor and max(steps) - min(steps) <= 1
            # whole epochs, as few as give every visit its floor
            assert sum(steps) % n_batches == 0 and sum(steps) - n_batches < floor * n_visits


def test_a_sweep_over_many_batches_is_one_pass_over_the_data():
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(3, 2, (16,), layer_dims((16, 16), n_cores=3), 3, ("relu",), "fixed", g, torch.float64, "cpu")
    X, y = torch.randn(100, 3, dtype=torch.float64), torch.randint(0, 2, (100,))
    sweeper = sweeper_for(net, 0.05, 3)
    rows, step = [], sweeper.line_search.step

    def recorded_step(layer_index, problem, index, *args, **kwargs):
        rows.append(index)
        return step(layer_index, problem, index, *args, **kwargs)

    sweeper.line_search.step = recorded_step
    stream = BatchStream(100, 10, True, np.random.RandomState(0), "cpu")
    objective = Objective(net, X, y, torch.ones(100, dtype=torch.float64), "cross_entropy")
    for _ in range(2):
        sweeper.run_iteration(objective, 1e-3, stream)
        assert len(rows) == stream.n_batches
        assert sorted(torch.cat(rows).tolist()) == list(range(100))
        rows.clear()


@pytest.mark.parametrize("n_samples, batch_size", [(2026, 1000), (10, 4), (7, 7), (1001, 1000), (99, 10)])
def test_batch_stream_balances_the_batches_of_an_epoch(n_samples, batch_size):
    stream = BatchStream(n_samples, batch_size, True, np.random.RandomState(0), "cpu")
    if stream.n_batches == 1:
        assert stream.next() == slice(None) and n_samples <= batch_size
        return
    sizes = [len(stream.next()) for _ in range(stream.n_batches)]
    assert len(sizes) == -(-n_samples // batch_size) and sum(sizes) == n_samples
    assert max(sizes) - min(sizes) <= 1 and max(sizes) == stream.batch_size <= batch_size


def test_batch_stream_covers_each_sample_once_per_epoch():
    stream = BatchStream(10, 4, True, np.random.RandomState(0), "cpu")
    assert stream.n_batches == 3
    epoch = torch.cat([stream.next() for _ in range(3)])
    assert sorted(epoch.tolist()) == list(range(10))
    again = BatchStream(10, 4, True, np.random.RandomState(0), "cpu")
    assert torch.equal(torch.cat([again.next() for _ in range(3)]), epoch)
    unshuffled = BatchStream(5, 2, False, None, "cpu")
    assert [unshuffled.next().tolist() for _ in range(3)] == [[0], [1, 2], [3, 4]]
    # One batch of everything: the data as they are, without a copy.
    whole = BatchStream(5, 10, True, np.random.RandomState(0), "cpu")
    assert whole.n_batches == 1 and whole.next() == slice(None)


@pytest.mark.parametrize("sizes, n_cores", [((16, 8), 3), ((7, 5), None)])  # 7 -> 7 -> 5: padded layers
@pytest.mark.parametrize("projection", ["fixed", "trainable"])
def test_hand_written_and_autograd_visits_agree(projection, sizes, n_cores):
    # Small layers take the hand-written backward pass; without a dense environment, autograd.
    def network_and_objective():
        g = torch.Generator().manual_seed(0)
        net = TNNetwork(3, 2, sizes, layer_dims((sizes[0], *sizes), n_cores=n_cores), 3, ("relu", "sigmoid"),
                        projection, g, torch.float64, "cpu")
        X = np.random.default_rng(0).normal(size=(40, 3))
        y = torch.as_tensor(np.random.default_rng(1).integers(0, 2, 40))
        weights = torch.as_tensor(np.random.default_rng(2).uniform(0.5, 2, 40))
        return net, Objective(net, X, y, weights, "cross_entropy")

    results = []
    for hand_written in (True, False):
        net, objective = network_and_objective()
        sweeper = sweeper_for(net, 0.05, 3)
        stream = BatchStream(40, 16, True, np.random.RandomState(0), "cpu")
        environment = MPOLinear.dense_environment if hand_written else (lambda *args: None)
        with mock.patch.object(TNNetwork, "backward", autospec=True, side_effect=TNNetwork.backward) as backward, \
                mock.patch.object(MPOLinear, "dense_environment", environment):
            losses = [sweeper.run_iteration(objective, 1e-3, stream) for _ in range(2)]
        steps = sum(visit_steps(stream.n_batches, len(sweeper.visits)))
        assert backward.call_count == (2 * steps if hand_written else 0)
        results.append((losses, [p.detach() for p in net.parameters()]))
    (hand_losses, hand_params), (auto_losses, auto_params) = results
    np.testing.assert_allclose(hand_losses, auto_losses, rtol=1e-10)
    for got, want in zip(hand_params, auto_params):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)


def linear_problem(seed=0):
    """A linear network at full bond dimension (the split never truncates) and a squared loss."""
    net = linear_network(seed, bond_dim=64)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(50, 12, dtype=torch.float64, generator=g) * 10
    return net, squared_loss(net, X, X @ torch.randn(12, 8, dtype=torch.float64, generator=g))


def test_a_step_that_would_raise_the_objective_is_shortened(autograd_visits):
    net, loss = linear_problem()
    sweeper = layer_only(sweeper_for(net, 1e2, 64))  # a thousand times the stable step
    stream = BatchStream(50, 50, False, np.random.RandomState(0), "cpu")
    with torch.no_grad():
        before = float(loss(slice(None)))
    assert sweeper.update_bond(0, 0, "right", loss, 0.0, stream) == pytest.approx(before)
    with torch.no_grad():
        after = float(loss(slice(None)))
    assert after < before
    assert sweeper.line_search.step_scales[0] < 1e-3  # the accepted fraction is remembered


def test_full_batch_sweeps_never_raise_the_objective(autograd_visits):
    net, loss = linear_problem(1)
    sweeper = layer_only(sweeper_for(net, 50.0, 64))
    stream = BatchStream(50, 50, False, np.random.RandomState(0), "cpu")
    visits = [sweeper.update_bond(0, bond, d, loss, 1e-3, stream) for _ in range(10)
              for _, bond, d in sweeper.visits]
    assert np.isfinite(visits).all() and visits[-1] < 0.01 * visits[0]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(visits, visits[1:]))


def test_the_multiplier_grows_after_full_steps_up_to_its_cap(autograd_visits):
    net, loss = linear_problem()
    sweeper = layer_only(sweeper_for(net, 1e-9, 64))  # every step is accepted at full length
    stream = BatchStream(50, 50, False, np.random.RandomState(0), "cpu")
    sweeper.update_bond(0, 0, "right", loss, 0.0, stream)
    assert sweeper.line_search.step_scales == [2.0]
    for _ in range(10):
        sweeper.run_iteration(loss, 0.0, stream)
    assert sweeper.line_search.step_scales == [MAX_SCALE]


def two_layer_problem(projection):
    """A 3 -> 16 -> 8 -> 2 network and a cross-entropy objective on 40 random rows."""
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(3, 2, (16, 8), layer_dims((16, 16, 8), n_cores=3), 3, ("relu", "tanh"), projection, g,
                    torch.float64, "cpu")
    X, y = np.random.default_rng(0).normal(size=(40, 3)), torch.as_tensor(np.random.default_rng(1).integers(0, 2, 40))
    return net, Objective(net, X, y, torch.ones(40, dtype=torch.float64), "cross_entropy")


@pytest.mark.parametrize("hand_written", [True, False])
@pytest.mark.parametrize("projection", ["fixed", "trainable"])
def test_a_visit_trains_its_layer_and_what_follows_it_only(hand_written, projection):
    # The earlier layers stay fixed, so the visited layer's input is computed once per batch.
    net, objective = two_layer_problem(projection)
    stream = BatchStream(40, 16, True, np.random.RandomState(0), "cpu")
    sweeper = sweeper_for(net, 0.05, 3)
    environment = MPOLinear.dense_environment if hand_written else (lambda *args: None)
    with mock.patch.object(MPOLinear, "dense_environment", environment):
        for layer_index in (1, 0):
            before = dict((name, p.detach().clone()) for name, p in net.named_parameters())
            sweeper.update_bond(layer_index, 0, "right", objective, 1e-3, stream)
            after = dict(net.named_parameters())
            # Cores outside the visited layer never move; parameters before it stay fixed too.
            fixed = {name for name in before if name.startswith("tn_layers.") and
                     not name.startswith(f"tn_layers.{layer_index}.")}
            fixed -= {"tn_layers.1.bias"} if layer_index == 0 else set()
            fixed |= {"projection"} if layer_index == 1 else set()
            for name in fixed & set(before):
                assert torch.equal(after[name], before[name]), name
            moved = ["output.weight", "output.bias", f"tn_layers.{layer_index}.bias"]
            moved += ["projection"] if projection == "trainable" and layer_index == 0 else []
            assert all(not torch.equal(after[name], before[name]) for name in moved)


def test_a_trained_projection_and_the_first_layer_apply_as_one_matrix():
    # Behind a trainable projection P the first layer's visits apply P W to the rows: the batch is
    # never multiplied by P alone, which the product with the width-squared W would follow.
    net, objective = two_layer_problem("trainable")
    stream = BatchStream(40, 40, False, np.random.RandomState(0), "cpu")
    sweeper = sweeper_for(net, 0.05, 3)
    with mock.patch.object(TNNetwork, "embed", autospec=True, side_effect=TNNetwork.embed) as embed:
        sweeper.update_bond(0, 0, "right", objective, 1e-3, stream)
        assert embed.call_count == 0
        sweeper.update_bond(1, 0, "right", objective, 1e-3, stream)  # a later layer's input is X P's image
        assert embed.call_count == 1


@pytest.mark.parametrize("layer_index", [0, 1])
@pytest.mark.parametrize("projection", ["fixed", "trainable"])
def test_a_visit_reports_the_whole_penalised_objective(layer_index, projection):
    # Whichever layer is visited, the loss before its step is the data term plus l2 times the
    # squared norm of every penalised weight, a trainable projection included.
    net, objective = two_layer_problem(projection)
    stream = BatchStream(40, 40, False, np.random.RandomState(0), "cpu")
    l2 = 0.1
    with torch.no_grad():
        expected = float(objective(slice(None)) + l2 * net.squared_weight_norm())
    reported = sweeper_for(net, 1e-9, 3).update_bond(layer_index, 0, "right", objective, l2, stream)
    assert reported == pytest.approx(expected, rel=1e-12)


def test_on_mini_batches_the_step_multipliers_stay_at_most_one():
    X, y = make_classification(200, n_features=6, random_state=0)
    full = TNNClassifier(**{**FAST, "max_iter": 5}).fit(X, y)
    mini = TNNClassifier(**{**FAST, "max_iter": 5}, batch_size=40).fit(X, y)
    assert max(full._solver.line_search.step_scales) > 1
    assert max(mini._solver.line_search.step_scales) <= 1 and mini._solver.line_search.dense_scale <= 1
