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
