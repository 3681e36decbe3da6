"""DIHCallback under PyTorch DDP through fastai: two CPU processes (gloo) launched by `torchrun`, checked here.

The ranks run tests/ddp_worker.py and save the subsets, their batches (already checked against the data), their
per-sample observations and their final DIH state; this test asserts that both ranks chose the same subsets, that
the shards are fastai's contiguous blocks of the padded order (disjoint, union = subset), that both ranks end with
the same DIH, and that it equals a single-process reference fed with the observations of both ranks."""
import os, socket, subprocess, sys
from pathlib import Path
import pytest
import torch

pytest.importorskip('accelerate', reason="fastai.distributed needs accelerate (pip install accelerate)")
from dihcl_nb.core import DIHState

ROOT = Path(__file__).resolve().parents[1]

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def torchrun(out:Path, *args, nproc:int=2, timeout:int=240, cuda:bool=False):
    "Run tests/ddp_worker.py on `nproc` CPU processes (gloo), or one GPU each (NCCL) with `cuda`; returns the completed process."
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]), 'OMP_NUM_THREADS': '1'}
    if not cuda: env['CUDA_VISIBLE_DEVICES'] = ''
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}', '--master_addr=127.0.0.1',
           f'--master_port={_free_port()}', str(ROOT/'tests'/'ddp_worker.py'), str(out), *args]
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)

@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
    "One torchrun for all tests: both configurations of ddp_worker.CONFIGS, one after the other in the same processes."
    out = tmp_path_factory.mktemp('ddp')
    p = torchrun(out)
    assert p.returncode == 0, p.stdout[-4000:]
    assert (out/'done0').exists() and (out/'done1').exists(), "a rank did not exit cleanly"
    return out

@pytest.fixture(params=['dloss_exp', 'flip_greedy'])
def ranks(run_dir, request):
    return [torch.load(run_dir/f'{request.param}_rank{r}.pt', weights_only=False) for r in (0, 1)]

def test_same_subsets(ranks):
    r0, r1 = ranks
    assert r0['world'] == r1['world'] == 2 and len(r0['subsets']) == 4
    for a, b in zip(r0['subsets'], r1['subsets']): assert torch.equal(a, b)
    for a, b in zip(r0['incl'], r1['incl']): assert torch.equal(a, b)
    assert len(r0['subsets'][0]) == r0['n'] and len(r0['subsets'][-1]) < r0['n']   # warm-up, then selection

def test_shards(ranks):
    "Each rank trained fastai's contiguous block of the subset padded by repetition; blocks disjoint, union = subset."
    padded_epochs = 0
    for e, sub in enumerate(ranks[0]['subsets']):
        shards = [torch.cat([o['idxs'] for o in r['obs'][e]]) for r in ranks]
        pad = (-len(sub)) % 2
        padded_epochs += pad > 0
        assert torch.equal(torch.cat(shards), torch.cat([sub, sub[:pad]]))
        assert len(shards[0]) == len(shards[1])
        s0, s1 = set(shards[0].tolist()), set(shards[1][:len(shards[1]) - pad].tolist())
        assert not s0 & s1 and s0 | s1 == set(sub.tolist()) and len(s0) + len(s1) == len(sub)
    assert padded_epochs > 0, "no epoch exercised fastai's padding: change k_decay in ddp_worker.py"

def test_identical_dih(ranks):
    s0, s1 = ranks[0]['state'], ranks[1]['state']
    for k in ('hardness', 'counts', 'last_loss', 'last_correct', 'lr_mark', 'n_nonfinite'):
        assert torch.equal(s0['state'][k], s1['state'][k]), k
    assert s0['state']['lr_total'] == s1['state']['lr_total'] and s0['seed'] == s1['seed']
    assert ranks[0]['sizes'] == ranks[1]['sizes'] == [len(s) for s in ranks[0]['subsets']]   # padded repeats not counted

def test_matches_single_process_reference(ranks):
    "Replay both ranks' observations, step by step, into one DIHState; padded repeats (seen earlier this epoch) dropped."
    r0, r1 = ranks
    n, sd = r0['n'], r0['state']
    ref = DIHState(n, sd['state']['metric'], sd['state']['gamma'], sd['state']['normalize_lr'])
    in_subset = torch.zeros(n, dtype=torch.int32)
    for e in range(len(r0['subsets'])):
        in_subset[r0['subsets'][e]] += 1
        seen = torch.zeros(n, dtype=torch.bool)
        assert len(r0['obs'][e]) == len(r1['obs'][e])
        for o0, o1 in zip(r0['obs'][e], r1['obs'][e]):
            assert o0['H'] == o1['H']
            idx, l, c = (torch.cat([o0[k], o1[k]]) for k in ('idxs', 'losses', 'correct'))
            keep = torch.tensor([not seen[i] and not seen.__setitem__(i, True) for i in idx.tolist()])
            ref.lr_total = o0['H']
            w = r0['incl'][e][idx[keep]] if sd['selector'] == 'exp' else None
            ref.observe(idx[keep], l[keep], c[keep] if ref.metric == 'flip' else None, weights=w)
    assert torch.equal(ref.counts, in_subset)          # each sample counted once per epoch it was selected
    for k in ('counts', 'last_loss', 'last_correct', 'lr_mark'): assert torch.equal(getattr(ref, k), sd['state'][k]), k
    torch.testing.assert_close(ref.hardness, sd['state']['hardness'], rtol=1e-6, atol=0)
