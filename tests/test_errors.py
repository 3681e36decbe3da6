"Bad input fails early with a message that names the parameter and what is allowed."
import math, pytest, torch
from dihcl_nb import DIHCallback, DIHCurriculum, DIHState, select_subset


@pytest.mark.parametrize('kw,msg', [
    (dict(metric='accuracy'), "metric='accuracy' is not supported; choose one of 'loss', 'dloss', 'flip'"),
    (dict(selector='topk'), "selector='topk' is not supported; choose one of 'greedy', 'rand', 'exp', 'beta', 'uniform'"),
    (dict(gamma=0), "gamma=0 is not allowed; it must be a number in (0, 1]"),
    (dict(gamma=1.01), "gamma=1.01 is not allowed"),
    (dict(k_min=0), "k_min=0 is not allowed; it must be a number in (0, 1]"),
    (dict(k_min=2), "k_min=2 is not allowed"),
    (dict(k_decay=0), "k_decay=0 is not allowed; it must be a number in (0, inf]"),
    (dict(k_decay=-0.5), "k_decay=-0.5 is not allowed"),
    (dict(warmup=-1), "warmup=-1 is not allowed; it must be an integer ≥ 0"),
    (dict(warmup=2.5), "warmup=2.5 is not allowed"),
    (dict(selector='beta', c=1.0), "c=1.0 is not allowed; it must be larger than the DIH values"),
    (dict(eta=-1.0), "eta=-1.0 is not allowed"),
    (dict(episodes=[5, 5, 10]), "episodes=[5, 5, 10] is not allowed"),
])
def test_callback_rejects(kw, msg):
    with pytest.raises(ValueError) as e: DIHCallback(**kw)
    assert msg in str(e.value)
    with pytest.raises(ValueError) as e: DIHCurriculum(10, **kw)
    assert msg in str(e.value)


def test_state_refuses_other_size_and_metric():
    s = DIHState(10, 'dloss')
    with pytest.raises(ValueError, match="n=10 samples into one of n=11"): DIHState(11, 'dloss').load_state_dict(s.state_dict())
    with pytest.raises(ValueError, match="metric='dloss' into one of metric='flip'"): DIHState(10, 'flip').load_state_dict(s.state_dict())


def test_select_rejects():
    with pytest.raises(ValueError, match="k=0 is not allowed"): select_subset(torch.ones(3), 0)
    with pytest.raises(ValueError, match="NaN"): select_subset(torch.tensor([1., math.nan]), 1)


def test_nonfinite_loss_keeps_state_finite():
    s = DIHState(4, 'dloss', gamma=0.5)
    s.observe(torch.arange(4), torch.tensor([1., 2., 3., 4.])); s.advance_lr(0.1)
    s.observe(torch.arange(4), torch.tensor([math.nan, math.inf, -math.inf, 5.]))
    assert torch.isfinite(s.hardness).all() and int(s.n_nonfinite) == 3
    assert s.hardness[:3].tolist() == [1.0, 1.0, 1.0]
