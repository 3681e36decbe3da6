"A checkpoint resumes bit-exactly in a new process: the sidecar holds tensors and plain values, read with weights_only=True."
import subprocess, sys, tempfile
from pathlib import Path
import torch
from fastai.basics import Learner, CrossEntropyLossFlat
from dihcl_nb import DIHCallback
from dihcl_nb.data import digits_dls, digits_mlp
from dihcl_nb.robustness import DIHSaveModelCallback

KW = dict(metric='dloss', selector='exp', warmup=1, k_decay=0.6, seed=3, show_subset=False)
RESUME = '''
import sys, torch; torch.set_num_threads(1)
from fastai.basics import Learner, CrossEntropyLossFlat
from dihcl_nb import DIHCallback
from dihcl_nb.data import digits_dls, digits_mlp
from dihcl_nb.robustness import load_checkpoint
path = sys.argv[1]
torch.manual_seed(123)                         # another initialisation: the checkpoint replaces it
learn = Learner(digits_dls(bs=64), digits_mlp(), loss_func=CrossEntropyLossFlat(), path=path, cbs=DIHCallback(**{kw}))
load_checkpoint(learn, 'model_1')
with learn.no_bar(), learn.no_logging(): learn.fit(4, 1e-2, start_epoch=2)
torch.save(dict(hardness=learn.dih.hardness, counts=learn.dih.counts, sizes=learn.dih.subset_sizes,
                params=[p.detach() for p in learn.model.parameters()]), path + '/resumed.pt')
'''

def test_resume_in_a_new_process():
    torch.set_num_threads(1)
    path = tempfile.mkdtemp()
    torch.manual_seed(0)
    full = Learner(digits_dls(bs=64), digits_mlp(), loss_func=CrossEntropyLossFlat(), path=path,
                   cbs=[DIHCallback(**KW), DIHSaveModelCallback(every_epoch=True, with_opt=True)])
    with full.no_bar(), full.no_logging(): full.fit(4, 1e-2)
    r = subprocess.run([sys.executable, '-c', RESUME.format(kw=repr(KW)), path], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    res = torch.load(Path(path)/'resumed.pt', weights_only=True)
    assert res['sizes'] == full.dih.subset_sizes and len(res['sizes']) == 4
    assert torch.equal(res['hardness'], full.dih.hardness) and torch.equal(res['counts'], full.dih.counts)
    assert all(torch.equal(p, q) for p, q in zip(res['params'], full.model.parameters()))
