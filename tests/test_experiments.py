"Issue 5: the SPL/MCL baselines, Eq. 3 diversity and the presets through the comparison job (fast: digits, few epochs)."
import itertools, math, subprocess
import pytest, torch
from dihcl_nb.compare import train_run, compare, METHODS, scaled_episodes
from dihcl_nb.diversity import stochastic_greedy, facility_location, mean_pairwise_distance
from dihcl_nb.presets import PRESETS, preset_spec, preset_model


@pytest.mark.parametrize('method', ['spl', 'mcl', 'dihcl-rand-loss-div', 'dihcl-greedy-loss'])
def test_new_methods_run_and_count(method):
    c = train_run('digits', method, seed=0, epochs=8, warmup=2)
    last = c.iloc[-1]
    full = 1437 // 64 * 64
    assert last.sample_grads < 8 * full
    if method in ('spl', 'mcl'): assert last.extra_forward > 0 and last.extra_forward % 1438 == 0
    else: assert last.extra_forward == 0
    assert last.accuracy > 0.5


def test_schedules_and_noise():
    for sched in ('cyclic', 'exp'):
        c = train_run('digits-noise40', 'dihcl-rand-loss', seed=0, epochs=6, sched=sched, warmup=2)
        assert len(c) == 6
    with pytest.raises(ValueError, match="sched='cosine' is not known"): train_run('digits', 'random', sched='cosine')
    assert scaled_episodes(30) == [1, 2, 3, 4, 6, 9, 14, 21, 30]


def test_unknown_data_names_presets():
    with pytest.raises(ValueError, match="data='cifar' is not known.*cifar10"): compare('cifar')


def test_greedy_ratio_against_exhaustive():
    g = torch.Generator().manual_seed(5)
    for _ in range(10):
        z, r = torch.randn(8, 3, generator=g), torch.rand(8, generator=g)
        sig = mean_pairwise_distance(z, generator=g)
        opt = max(facility_location(z, S, sigma=sig, modular=r) for S in itertools.combinations(range(8), 3))
        got = facility_location(z, stochastic_greedy(z, 3, r, sigma=sig, eps=None).tolist(), sigma=sig, modular=r)
        assert got >= (1 - math.exp(-1)) * opt


def test_presets_complete():
    assert len(PRESETS) == 11
    s = preset_spec('cifar10')
    assert (s['epochs'], s['bs'], s['lr'], s['lr_target']) == (300, 128, 0.2, 5e-4) and s['episodes'][-1] == 300
    m = preset_model('kmnist'); out = m(torch.randn(2, 1, 28, 28)); assert out.shape == (2, 10)


def test_cli_bad_preset_is_named():
    r = subprocess.run(['python', '-c', 'from dihcl_nb.compare import dihcl_compare; dihcl_compare(preset="cifar11", seeds=1)'],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "preset" in r.stderr and 'cifar10' in r.stderr
