"The console scripts end to end, as a user runs them."
import subprocess, sys
import pandas as pd


def test_dihcl_compare_end_to_end(tmp_path):
    out = tmp_path / 'res'
    r = subprocess.run(['dihcl_compare', '--data', 'digits', '--methods', 'random,dihcl-rand-loss', '--seeds', '2',
                        '--epochs', '8', '--out', str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'dihcl-rand-loss' in r.stdout and 'accuracy' in r.stdout
    tab = pd.read_csv(out / 'summary_digits.csv', index_col=0)
    assert list(tab.index) == ['random', 'dihcl-rand-loss']
    assert (tab.seeds == 2).all()
    assert tab.loc['dihcl-rand-loss', 'sample-grads'] < tab.loc['random', 'sample-grads']
    assert (tab['accuracy (%)'] > 80).all(), tab
    assert (out / 'curves_digits.png').stat().st_size > 10_000
    curves = pd.read_csv(out / 'curves_digits.csv')
    assert len(curves) == 2 * 2 * 8


def test_dihcl_compare_bad_method_is_named():
    r = subprocess.run(['dihcl_compare', '--methods', 'random,spl2', '--seeds', '1'], capture_output=True, text=True)
    assert r.returncode != 0
    assert 'methods=spl2 not known' in r.stderr


def test_help():
    r = subprocess.run(['dihcl_compare', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--methods' in r.stdout


def test_dihcl_compare_budget_study_tiny(tmp_path):
    "The equal-compute study's console entry point on the tiny test bed: every method, a table, a figure."
    out = tmp_path / 'study'
    r = subprocess.run(['dihcl_compare', '--study', 'budgets', '--beds', 'tiny', '--budgets', '0.5', '--seeds', '1',
                        '--methods', 'random-full,random,infobatch,selective-backprop,dihcl-rand-loss', '--out', str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '| dihcl-rand-loss |' in r.stdout and 'Best DIHCL variant' in r.stdout
    s = pd.read_csv(out / 'summary.csv').set_index('method')
    assert sorted(s.index) == sorted(['random-full', 'random', 'infobatch', 'selective-backprop', 'dihcl-rand-loss'])
    assert 0.45 <= s.loc['dihcl-rand-loss', 'fraction'] <= 0.55 and s.loc['random', 'fraction'] <= 0.5
    assert s.loc['selective-backprop', 'forward_only'] > 0.9 and s.loc['dihcl-rand-loss', 'forward_only'] == 0
    assert (out / 'budget_tiny.png').stat().st_size > 10_000


def test_dihcl_compare_bad_study_is_named():
    r = subprocess.run(['dihcl_compare', '--study', 'budget', '--beds', 'tiny'], capture_output=True, text=True)
    assert r.returncode != 0 and "study='budget' is not known" in r.stderr
    r = subprocess.run(['dihcl_compare', '--study', 'budgets', '--beds', 'tiny', '--budgets', '0.5,x'], capture_output=True, text=True)
    assert r.returncode != 0 and "budgets='0.5,x' is not allowed" in r.stderr
