"""One rank of the DDP test (launched by `torchrun` from tests/test_ddp.py): trains DIHCL on digits under fastai's
`distrib_ctx` and saves what it saw to OUT/rank{r}.pt; with the argument `timing` it measures the step-time ratio instead."""
import os, sys, time, warnings
warnings.filterwarnings('ignore')
import torch
torch.set_num_threads(1)
import torch.distributed as dist
from fastai.basics import Learner, CrossEntropyLossFlat, Callback, find_bs, accuracy
from fastai.distributed import *
from dihcl_nb import DIHCallback
from dihcl_nb.callback import per_sample_loss
from dihcl_nb.data import digits_dls, digits_mlp
from dihcl_nb.distributed import DeviceDistributedLoaders, rank_world

class Record(Callback):
    "Observer after DIHCallback: the subset, the rank's batches (checked against the data) and its observations."
    order = DIHCallback.order + 1
    def __init__(self, X): self.X, self.subsets, self.incl, self.obs, self.epoch_obs = X, [], [], [], None
    def before_train(self):
        cur = self.learn.dih.curriculum
        self.subsets.append(cur.subset.clone()); self.incl.append(cur.inclusion.clone())
        self.epoch_obs = []; self.obs.append(self.epoch_obs)
    def before_batch(self):
        if not self.training: return
        idxs = self.learn.dih.batch_idxs
        assert torch.equal(self.X[idxs], self.xb[0]), "batch does not hold the samples DIHCallback mapped it to"
        self.idxs = idxs.clone()
    def after_loss(self):
        if not self.training: return
        l = per_sample_loss(self.learn.loss_func, self.pred, *self.yb)
        c = (self.pred.argmax(-1) == self.yb[0])
        self.epoch_obs.append(dict(idxs=self.idxs, losses=l, correct=c, H=self.learn.dih.curriculum.state.lr_total))

CONFIGS = dict(dloss_exp=dict(metric='dloss', selector='exp'), flip_greedy=dict(metric='flip', selector='greedy'))

def run(out, name, epochs=4, bs=32, metric='dloss', selector='exp'):
    dev = 'cuda' if torch.cuda.is_available() else 'cpu'   # NCCL (tests/test_cuda.py): one GPU per rank
    dls = digits_dls(bs=bs, device=dev)
    dls.train.drop_last = False                     # the last short batch and the padded repeat are then trained
    X = torch.stack([x for x, _ in dls.train.dataset]).to(dev)
    torch.manual_seed(0)                            # same initial weights (DDP broadcasts rank 0's anyway)
    dih = DIHCallback(metric=metric, selector=selector, warmup=1, k_decay=0.73, k_min=0.2, seed=None, show_subset=False)
    rec = Record(X)
    learn = Learner(dls, digits_mlp(32), loss_func=CrossEntropyLossFlat(), metrics=accuracy,
                    cbs=[dih, rec, DeviceDistributedLoaders()])
    torch.manual_seed(100 + int(os.environ.get('RANK', 0)))   # seed=None then draws a different seed on each rank
    with learn.distrib_ctx(cpu=not torch.cuda.is_available()), learn.no_bar(), learn.no_logging():
        learn.fit(epochs - 1, 1e-2); learn.fit(1, 1e-3)  # a second fit continues the curriculum (as fine_tune does)
    rank, world = rank_world()
    torch.save(dict(rank=rank, world=world, subsets=rec.subsets, incl=rec.incl, obs=rec.obs,
                    state=dih.curriculum.state_dict(), sizes=dih.subset_sizes, n=len(X)), f'{out}/{name}_rank{rank}.pt')

def timing(out, epochs=4, bs=32, reps=5):
    """Step time of DDP without DIHCallback, with it (one gather per epoch) and with a gather after every batch (the
    same DIH, for comparison), alternating in the same processes after a warm-up fit of each; the time spent in
    `DIHSync.flush` (gathers, host sync, replay) is measured separately."""
    from dihcl_nb.distributed import DIHSync
    dls, spent, flush, add, per_batch = digits_dls(bs=bs), [0.0], DIHSync.flush, DIHSync.add, [None]
    def timed_flush(self, cur):
        t = time.perf_counter(); res = flush(self, cur); spent[0] += time.perf_counter() - t; return res
    def add_then_flush(self, *args):                 # the per-batch variant: gather and apply every batch
        add(self, *args)
        if per_batch[0] is not None: timed_flush(self, per_batch[0].dih.curriculum)
    DIHSync.flush, DIHSync.add = timed_flush, add_then_flush   # measurement only (this worker process)
    def fit(mode):
        torch.manual_seed(0); spent[0] = 0.0
        cbs = [DeviceDistributedLoaders()] + ([DIHCallback(warmup=epochs, seed=0, show_subset=False)] if mode != 'ddp' else [])
        learn = Learner(dls, digits_mlp(128), loss_func=CrossEntropyLossFlat(), cbs=cbs)
        per_batch[0] = learn if mode == 'dih_batch' else None
        with learn.distrib_ctx(cpu=not torch.cuda.is_available()), learn.no_bar(), learn.no_logging():
            dist.barrier(); t = time.perf_counter(); learn.fit(epochs, 1e-2); dist.barrier()
            return (time.perf_counter() - t) / learn.train_iter, spent[0] / learn.train_iter, learn.train_iter
    modes = ('ddp', 'dih', 'dih_batch')
    for m in modes: fit(m)                           # warm-up
    res = {m: [] for m in modes}
    for _ in range(reps):
        for m in modes: res[m].append(fit(m))
    rank, _ = rank_world()
    if rank == 0: torch.save(res, f'{out}/timing.pt')

if __name__ == '__main__':
    out, mode = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else 'run')
    if mode == 'timing': timing(out)
    else:
        for name, kw in CONFIGS.items(): run(out, name, **kw)
    if dist.is_initialized(): dist.destroy_process_group()
    open(f'{out}/done{int(os.environ.get("RANK", 0))}', 'w').close()
