"""DIHLightningCallback (dihcl_nb.lightning) on CPU with a small MLP on scikit-learn's digits: the schedule, DIH changing
only for the samples trained, exact resumption from a Lightning checkpoint, the errors of the training-step contract,
and a two-process DDP run (torchrun, gloo; this file is also the worker) keeping the ranks' states identical."""
import os, socket, subprocess, sys, warnings
from pathlib import Path
import pytest
import torch

pl = pytest.importorskip('lightning.pytorch', reason="the [lightning] extra is not installed (pip install lightning)")
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset, TensorDataset
from dihcl_nb import IndexedDataset
from dihcl_nb.data import digits_arrays, digits_mlp
from dihcl_nb.lightning import DIHLightningCallback

ROOT = Path(__file__).resolve().parents[1]
warnings.filterwarnings('ignore', message='.*(does not have many workers|litlogger|sync_dist|GPU available|TPU available).*')

def digits():
    X, y = digits_arrays()
    return TensorDataset(torch.tensor(X), torch.tensor(y))

class MLP(pl.LightningModule):
    "The digits MLP under the callback's contract: batches (idxs, x, y), training_step returns per-sample losses and idxs."
    def __init__(self, out='dict'):
        super().__init__(); self.net, self.out = digits_mlp(32), out
    def training_step(self, batch, batch_idx):
        idxs, xb, yb = batch
        losses = F.cross_entropy(self.net(xb), yb, reduction='none')
        if self.out == 'loss': return losses.mean()                                   # contract broken: no dict
        if self.out == 'mean': return dict(loss=losses.mean(), per_sample=losses.mean(), idxs=idxs)
        if self.out == 'arange': return dict(loss=losses.mean(), per_sample=losses, idxs=torch.arange(len(idxs)))
        return dict(loss=losses.mean(), per_sample=losses, idxs=idxs)
    def validation_step(self, batch, batch_idx):
        xb, yb = batch
        self.log('val_loss', F.cross_entropy(self.net(xb), yb))
    def configure_optimizers(self): return torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)

class Record(pl.Callback):
    "Observer: each epoch's subset, and the DIH state before and after the epoch."
    def __init__(self, dih): self.dih, self.epochs = dih, []
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        cur = self.dih.curriculum
        if batch_idx == 0: self.epochs.append(dict(subset=cur.subset.clone(), r0=cur.hardness.clone(), c0=cur.counts.clone()))
    def on_train_epoch_end(self, trainer, pl_module):
        cur = self.dih.curriculum
        self.epochs[-1].update(r1=cur.hardness.clone(), c1=cur.counts.clone(), logged=float(trainer.callback_metrics['dih_subset']))

def trainer(epochs, cbs, **kw):
    kw = dict(dict(accelerator='cpu', devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                   enable_model_summary=False, num_sanity_val_steps=0), **kw)
    return pl.Trainer(max_epochs=epochs, callbacks=cbs, **kw)

def fit(epochs=4, out='dict', bs=128, seed=0, dih=None, cbs=(), ckpt_path=None, val=False, **kw):
    ds = digits()
    dih = dih or DIHLightningCallback(warmup=1, k_decay=0.5, seed=seed)
    dl = DataLoader(IndexedDataset(ds), batch_size=bs, sampler=dih.sampler(ds))
    vdl = DataLoader(TensorDataset(ds.tensors[0][:200], ds.tensors[1][:200]), batch_size=100) if val else None
    torch.manual_seed(0)
    model = MLP(out)
    t = trainer(epochs, [dih, *cbs], **kw)
    t.fit(model, dl, vdl, ckpt_path=ckpt_path)
    return dih, model, t

def test_schedule_and_only_trained_samples_change():
    rec = Record(None)
    dih = DIHLightningCallback(warmup=1, k_decay=0.5, seed=0); rec.dih = dih
    fit(dih=dih, cbs=[rec])
    n = 1797
    assert dih.subset_sizes == [n, 898, 449, 359]                      # warm-up, then ×0.5 down to k_min = 0.2
    for i, e in enumerate(rec.epochs):
        trained = torch.zeros(n, dtype=torch.bool); trained[e['subset']] = True
        assert torch.equal(e['c1'] - e['c0'], trained.int())           # each selected sample counted once
        assert not (e['r1'] != e['r0'])[~trained].any()                 # DIH of the others untouched
        if i: assert (e['r1'] != e['r0'])[trained].float().mean() > 0.9   # dloss moves from the second observation on
        assert e['logged'] == len(e['subset'])                         # the dih_subset metric
    assert len(set(rec.epochs[1]['subset'].tolist())) == 898

def test_checkpoint_resumes_exactly(tmp_path):
    "Fit 4 epochs saving a checkpoint each epoch (after validation); a new run resumed from epoch 2 ends identical."
    ck = pl.callbacks.ModelCheckpoint(dirpath=tmp_path, filename='{epoch}', save_top_k=-1, every_n_epochs=1)
    a, ma, _ = fit(cbs=[ck], val=True, enable_checkpointing=True)
    assert (tmp_path/'epoch=1.ckpt').exists()
    b = DIHLightningCallback(warmup=1, k_decay=0.5, seed=123)          # another seed: the checkpoint's wins
    b, mb, _ = fit(dih=b, val=True, ckpt_path=tmp_path/'epoch=1.ckpt')
    assert b.subset_sizes == a.subset_sizes
    sa, sb = a.curriculum.state_dict(), b.curriculum.state_dict()
    for k in ('hardness', 'counts', 'last_loss', 'lr_mark'): assert torch.equal(sa['state'][k], sb['state'][k]), k
    assert sa['state']['lr_total'] == sb['state']['lr_total'] and torch.equal(sa['generator'], sb['generator'])
    for p, q in zip(ma.parameters(), mb.parameters()): assert torch.equal(p, q)
    sd = torch.load(tmp_path/'epoch=1.ckpt', weights_only=True)['callbacks']   # tensors and plain values only
    assert any('curriculum' in v for v in sd.values())

@pytest.mark.parametrize('out, msg', [('loss', 'training_step must return dict(loss=loss, per_sample=losses, idxs=idxs)'),
                                      ('mean', 'per_sample has 1 values for 128 indices: the loss cannot be made per sample'),
                                      ('arange', 'the data set gives no stable sample index')])
def test_contract_errors(out, msg):
    with pytest.raises(ValueError, match=msg.replace('(', r'\(').replace(')', r'\)')): fit(epochs=1, out=out)

def test_data_errors():
    class Stream(IterableDataset):
        def __iter__(self): yield from range(3)
    dih = DIHLightningCallback()
    with pytest.raises(ValueError, match='gives no stable sample index'): dih.sampler(Stream())
    ds = digits()
    dl = DataLoader(IndexedDataset(ds), batch_size=128, shuffle=True)                # the callback's sampler not used
    dih.sampler(ds)
    with pytest.raises(ValueError, match=r'draws from \[.RandomSampler.\], not from this callback'):
        trainer(1, [dih]).fit(MLP(), dl)
    with pytest.raises(ValueError, match='has 5 samples but this callback.s curriculum was built for 1797'): dih.sampler(TensorDataset(torch.zeros(5)))

# ---------------------------------------------------------------- DDP: two CPU processes (gloo), this file is the worker
def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

class Shard(pl.Callback):
    "Worker-side observer: the indices this rank trained in each epoch."
    def __init__(self): self.epochs = []
    def on_train_epoch_start(self, trainer, pl_module): self.epochs.append([])
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx): self.epochs[-1].append(batch[0].clone())

def ddp_worker(out):
    torch.set_num_threads(1)
    rank = int(os.environ['RANK'])
    torch.manual_seed(100 + rank)                        # seed=None: each rank draws its own seed; rank 0's must win
    dih = DIHLightningCallback(metric='dloss', selector='exp', warmup=1, k_decay=0.6, seed=None)
    rec, shard = Record(dih), Shard()
    ds = digits()
    dl = DataLoader(IndexedDataset(ds), batch_size=64, sampler=dih.sampler(ds))
    torch.manual_seed(0)
    t = trainer(3, [dih, rec, shard], devices=2, strategy='ddp')
    t.fit(MLP(), dl)
    torch.save(dict(subsets=[e['subset'] for e in rec.epochs], shards=[torch.cat(e) for e in shard.epochs],
                    state=dih.curriculum.state_dict(), sizes=dih.subset_sizes), f'{out}/rank{rank}.pt')

def test_ddp_two_processes(tmp_path):
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]),
           'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={_free_port()}', __file__, str(tmp_path)]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-4000:]
    r0, r1 = (torch.load(tmp_path/f'rank{r}.pt', weights_only=True) for r in (0, 1))
    n = 1797
    assert r0['sizes'] == r1['sizes'] == [n, 1078, 647]                  # padded repeats not counted
    in_subset = torch.zeros(n, dtype=torch.int32)
    for s0, s1, a, b in zip(r0['subsets'], r1['subsets'], r0['shards'], r1['shards']):
        assert torch.equal(s0, s1)                                       # the same subset on both ranks
        pad = (-len(s0)) % 2
        assert len(a) == len(b) and torch.equal(torch.cat([a, b]), torch.cat([s0, s0[:pad]]))   # contiguous blocks
        assert not set(a.tolist()) & set(b[:len(b) - pad].tolist())     # disjoint shards
        in_subset[s0] += 1
    for k in ('hardness', 'counts', 'last_loss', 'last_correct', 'lr_mark'):
        assert torch.equal(r0['state']['state'][k], r1['state']['state'][k]), k
    assert r0['state']['seed'] == r1['state']['seed']
    assert torch.equal(r0['state']['state']['counts'], in_subset)       # each selected sample counted once per epoch

if __name__ == '__main__':
    ddp_worker(sys.argv[1])
