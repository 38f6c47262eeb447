import pytest
import torch

from skltnn._solvers._adam import Adam


def test_adam_matches_torch_optim():
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    reference = [p.clone().requires_grad_(True) for p in params]
    ours = Adam({"w": params[0], "b": params[1]}, learning_rate=0.05, betas=(0.8, 0.99), eps=1e-6)
    theirs = torch.optim.Adam(reference, lr=0.05, betas=(0.8, 0.99), eps=1e-6, foreach=False)
    for _ in range(6):
        grads = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
        ours.step({"w": grads[0], "b": grads[1]})
        for p, grad in zip(reference, grads):
            p.grad = grad.clone()
        theirs.step()
        for mine, ref in zip(params, reference):
            torch.testing.assert_close(mine, ref.detach(), atol=1e-12, rtol=1e-12)


def test_direction_is_the_step_and_a_restart_drops_the_momentum():
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(4, 3, generator=g, dtype=torch.float64)]
    adam = Adam({"w": params[0]}, learning_rate=0.05)
    adam.step({"w": torch.randn(4, 3, generator=g, dtype=torch.float64)})
    before = params[0].clone()
    grad = torch.randn(4, 3, generator=g, dtype=torch.float64)
    step = adam.direction({"w": grad})["w"].clone()  # a view that the next call overwrites
    torch.testing.assert_close(params[0], before)  # direction() does not move the parameters
    assert adam.slope() == pytest.approx(float((grad * step).sum()), rel=1e-12)
    restarted = adam.restart_momentum({"w": grad})["w"]
    v_hat = adam.second_moment.view(4, 3) / (1 - 0.999**2)
    torch.testing.assert_close(restarted, -0.05 * grad / (v_hat.sqrt() + 1e-8))
    assert (grad * restarted).sum() < 0 and not torch.allclose(step, restarted)
    assert adam.slope() == pytest.approx(float((grad * restarted).sum()), rel=1e-12)


def test_a_direction_for_the_later_parameters_leaves_the_earlier_moments_alone():
    g = torch.Generator().manual_seed(0)
    params = {"a": torch.randn(3, generator=g, dtype=torch.float64),
              "b": torch.randn(2, 2, generator=g, dtype=torch.float64)}
    grads = [{name: torch.randn(p.shape, generator=g, dtype=torch.float64) for name, p in params.items()}
             for _ in range(2)]
    whole, later = Adam(params, learning_rate=0.05), Adam(params, learning_rate=0.05)
    whole.direction(grads[0])
    later.direction(grads[0])
    expected = whole.direction(grads[1])
    got = later.direction({"b": grads[1]["b"]})
    assert list(got) == ["b"]
    torch.testing.assert_close(got["b"], expected["b"], atol=1e-12, rtol=1e-12)
    assert later.slope() == pytest.approx(float((grads[1]["b"] * got["b"]).sum()), rel=1e-12)
    # The first parameter's moments are those of the first call only.
    first_moment = Adam(params, learning_rate=0.05)
    first_moment.direction(grads[0])
    torch.testing.assert_close(later.first_moment[:3], first_moment.first_moment[:3])
    torch.testing.assert_close(later.second_moment[:3], first_moment.second_moment[:3])
    restarted = later.restart_momentum({"b": grads[1]["b"]})
    torch.testing.assert_close(later.first_moment[:3], first_moment.first_moment[:3])
    assert list(restarted) == ["b"] and (restarted["b"] * grads[1]["b"]).sum() < 0  # downhill


def test_a_direction_names_the_last_parameters_in_order():
    params = {"a": torch.zeros(3), "b": torch.zeros(2)}
    adam = Adam(params, learning_rate=0.05)
    with pytest.raises(ValueError, match="the last of its parameters"):
        adam.direction({"a": torch.ones(3)})  # not the last
    with pytest.raises(ValueError, match="the last of its parameters"):
        adam.direction({"b": torch.ones(2), "a": torch.ones(3)})  # not in order
