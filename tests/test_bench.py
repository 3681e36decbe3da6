"The benchmark code works (tiny sizes); the figures themselves come from `dihcl_bench`, not from tests."
import json, subprocess, sys
import pandas as pd
from dihcl_nb.bench import (step_overhead, image_step_overhead, update_speed, selection_speed, state_memory,
                            sample_efficiency, summary_table)


def test_rows_tiny():
    res = dict(step_image=image_step_overhead(rounds=1, n=160, bs=32, channels=(4, 4, 8, 8)),   # 4 batches an epoch
               step=step_overhead(rounds=1, n_samples=1000), update=update_speed(n=2000, B=32, rounds=1, reps=2),
               select=selection_speed(n=5000, rounds=1), memory=state_memory(10_000))
    r = res['step_image']
    assert r['same_steps'] and r['steps'] == 4 and r['ratio'] > 0 and len(r['ratios']) == 1
    assert r['handlers_ms'] > 0 and r['handlers_frac'] > 0   # DIHCallback's own code costs more than the reference's
    assert res['step']['same_steps'] and res['step']['ratio'] > 0
    assert res['update']['same_result'] and res['update']['speedup'] > 1
    m = res['memory']
    assert 0 < m['state_bytes_per_sample'] <= 24 and m['state_bytes_per_sample'] == sum(m['bytes_per_sample'].values())
    r5 = sample_efficiency(seeds=1, epochs=2, n_samples=2000, variants={'random': ('random', {}),
                                                        'dihcl-exp-dloss': ('dihcl-exp-dloss', dict(warmup=1))})
    tab = r5['table']
    assert tab.loc['dihcl-exp-dloss', 'budget_ratio'] < 1 and tab.loc['random', 'grads_ratio'] <= 1
    res['reach'] = dict(target=r5['target'], table=tab)
    res['diversity'] = dict(skipped='not run here (apricot compiles numba kernels for ~40 s)')
    t = summary_table(res)
    assert set(t.row) >= {'1a', '1b', '2', '3', '4', '5', '6'} and {'target', 'measured', 'met'} <= set(t.columns)
    assert (t[t.row == '3'].target == '< 150 ms, ≥ 20×').sum() == 3   # greedy, rand, uniform


def test_console_script(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'dihcl_nb.bench', '--rows', '2,4', '--rounds', '1', '--out', str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / 'results.json').read_text())
    assert {'update', 'memory', 'meta'} <= set(res) and set(res['meta']['runs']) == {'update', 'memory'}
    assert 'bytes per sample' in (tmp_path / 'summary.md').read_text()
