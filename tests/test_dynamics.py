"DynamicsRecorder, Dynamics and the dihcl_observe console script, fast (a few seconds)."
import subprocess, sys, os
import warnings
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')
import numpy as np, pandas as pd, torch
torch.set_num_threads(1)
from functools import partial
from torch import nn
import torch.nn.functional as F
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat
from fastai.optimizer import SGD
import fastai.callback.progress  # Learner.no_bar
from dihcl_nb.data import tensor_dls, corrupt_labels
from dihcl_nb.dynamics import Dynamics, DynamicsRecorder


def _learner(cbs, n=256, noise=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g); w = torch.randn(8, 4, generator=g); y = (x @ w).argmax(1)
    y2, noisy = corrupt_labels(y, noise, 4, seed)
    dls = tensor_dls(x, y2, x[:32], y[:32], bs=32, is_noisy=noisy)
    torch.manual_seed(seed)
    return Learner(dls, nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), loss_func=CrossEntropyLossFlat(),
                   opt_func=partial(SGD, mom=0.9), cbs=cbs)


def test_train_and_full_modes_agree_on_what_they_record():
    rec, full = DynamicsRecorder(seed=0), DynamicsRecorder(mode='full')
    learn = _learner([rec, full])
    with learn.no_bar(), learn.no_logging(): learn.fit(3, 0.05)
    d, f = rec.dynamics, full.dynamics
    assert d.loss.dtype == torch.float16 and d.correct.dtype == torch.uint8 and d.preds.dtype == torch.uint8
    assert d.observed.sum(1).tolist() == [256] * 3 and f.observed.all()      # 256 = 8 full batches: none dropped
    assert d.nbytes == 3 * 256 * 4 + 256 * 8
    # the full pass at the end of the last epoch equals an evaluation with the final weights
    xs = torch.stack([x for x, _ in learn.dls.train.dataset]); ys = torch.stack([y for _, y in learn.dls.train.dataset])
    with torch.no_grad(): ref = F.cross_entropy(learn.model(xs), ys, reduction='none')
    assert torch.allclose(f.loss[-1].float(), ref, atol=2e-3, rtol=1e-2)
    assert torch.equal(d.targets, ys) and torch.equal(f.targets, ys)
    # running-mean DIH of the loss is the mean over epochs
    assert torch.allclose(d.dih('loss', 'mean')[-1], d.loss.float().mean(0), atol=1e-3)


def test_noise_detection_and_suspects(tmp_path):
    rec = DynamicsRecorder(seed=0)
    learn = _learner(rec, n=512, noise=0.3)
    with learn.no_bar(), learn.no_logging(): learn.fit(8, 0.05)
    d = rec.dynamics
    auc = d.noise_auc()
    assert auc.loc[8, 'loss'] > 0.85, auc
    top = d.suspects(frac=0.2)
    assert learn.dls.is_noisy[top].float().mean() > 0.7
    d2 = Dynamics.load(d.save(tmp_path / 'r.npz', preds=False))
    assert d2.preds is None and torch.equal(d2.is_noisy, d.is_noisy)
    assert torch.allclose(d2.dih('flip')[-1], d.dih('flip')[-1])


def test_dihcl_observe_end_to_end(tmp_path):
    # as the console script runs it once settings.ini lists it: parse the command line with fastcore's parser
    code = ("import sys; from fastcore.script import anno_parser; from dihcl_nb.observe import dihcl_observe; "
            "a = vars(anno_parser(dihcl_observe).parse_args(sys.argv[1:])); "
            "dihcl_observe(**{k: v for k, v in a.items() if k not in ('pdb', 'xtra')})")
    r = subprocess.run([sys.executable, '-c', code, '--out', str(tmp_path), '--runs', 'digits,digits-seed1', '--epochs', '4'],
                       capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'digits-seed1' in r.stdout
    s = pd.read_csv(tmp_path / 'summary.csv', index_col=0)
    assert set(s.index) == {'digits', 'digits-seed1'} and (s.epochs == 4).all()
    assert (tmp_path / 'fig5_digits.png').stat().st_size > 10_000
    f5 = pd.read_csv(tmp_path / 'fig5_digits.csv')
    assert set(f5.metric) == {'loss', 'dloss', 'flip'} and len(f5) == 12
