"Fast checks of `dihcl_nb.theory` (seconds); the full property-based checks live in nbs/40_theory.ipynb."
import itertools
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from dihcl_nb.theory import (CONCAVE, CountFunction, set_cover_hard_case, late_bloomer, dr_violation, optimum, c_fm,
                             dihcl_greedy, g_value, f_value, theory_report, sweep_length, random_count_function)

CLAIMS = ('lemma1', 'lemma2', 'lemma3', 'theorem1', 'corollary1', 'staleness')

@pytest.mark.parametrize('n,k', [(4, 2), (9, 3), (6, 3), (8, 2)])
def test_hard_case_ratio(n, k):
    f, sweep = set_cover_hard_case(n, k)
    m = n // k
    assert dihcl_greedy(f, n, k, m + 1, sweep=sweep).g / optimum(f, n, k, m + 1)[0] == pytest.approx(max(1 / k, k / n))

def test_dr_checker():
    assert dr_violation(set_cover_hard_case(4, 2)[0], 4) is None
    w = dr_violation(late_bloomer(3), 3)
    assert w is not None and w['gain_x'] < w['gain_y']

def test_optimum_matches_bruteforce():
    rng = np.random.default_rng(0)
    f = random_count_function(4, rng)
    subs = list(itertools.combinations(range(4), 2))
    for obj, val in (('g', g_value), ('f', f_value)):
        best = max(val(f, S, 4) for S in itertools.product(subs, repeat=3))
        assert optimum(f, 4, 2, 3, obj)[0] == pytest.approx(best)

def test_negative_control_breaks_theorem1():
    assert theory_report(late_bloomer(4), 4, 2, 6)['theorem1'] < 0

def test_bad_input():
    with pytest.raises(ValueError, match='k=4 does not divide n=6'): sweep_length(6, 4)
    with pytest.raises(ValueError, match='T=1 is not allowed'): dihcl_greedy(late_bloomer(4), 4, 2, 1)

@st.composite
def _instances(draw):
    n = draw(st.sampled_from([2, 3, 4]))
    k = draw(st.sampled_from([d for d in (1, 2) if n % d == 0]))
    W = np.array(draw(st.lists(st.lists(st.sampled_from([0., .5, 1., 2.]), min_size=n, max_size=n), min_size=1, max_size=2)))
    W[:, 0] += .5
    f = CountFunction(W, draw(st.lists(st.sampled_from(list(CONCAVE)), min_size=len(W), max_size=len(W))))
    return f, n, k, draw(st.integers(n // k, n // k + 3))

@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(_instances())
def test_section_3_2_claims(inst):
    r = theory_report(*inst)
    assert all(r[c] >= -1e-9 for c in CLAIMS), r
