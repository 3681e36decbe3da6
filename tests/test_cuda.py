"""The GPU checks: `python -m pytest tests/test_cuda.py` on a machine with CUDA (every test here is skipped without).

- every selector on a CUDA tensor draws the same distribution as on the CPU (Monte Carlo, as the CPU tests);
- a `DIHCallback` fit on CUDA makes no host synchronisation in its per-batch events
  (`torch.cuda.set_sync_debug_mode('error')` around them; the per-epoch subset choice may synchronise);
- DIH state, curriculum and checkpoints stay on the model's device and a checkpoint resumes exactly;
- DDP with the NCCL backend on two GPUs (skipped with fewer).
The GPU figures come from `dihcl_bench --device cuda` (see the benchmarks notebook)."""
import math, os, tempfile
os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')   # deterministic cuBLAS, for the exact-resume check
import pytest, torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

from fastai.basics import Learner, Callback, CrossEntropyLossFlat, accuracy
from dihcl_nb import DIHCallback, select_subset, SELECTORS
from dihcl_nb.data import digits_dls, digits_mlp
from dihcl_nb.robustness import DIHSaveModelCallback, load_checkpoint


def freq(h, k, selector, trials, seed):
    "How often each index is chosen over `trials` selections."
    g, cnt = torch.Generator().manual_seed(seed), torch.zeros(len(h))
    for _ in range(trials): cnt[select_subset(h, k, selector, g)[0].cpu()] += 1
    return cnt / trials

@pytest.mark.parametrize('selector', SELECTORS)
def test_selectors_same_distribution(selector):
    h = torch.tensor([.05, .5, 1., 1., 2., 3., 5., 8.])
    cpu, gpu = freq(h, 3, selector, 4000, seed=0), freq(h.cuda(), 3, selector, 4000, seed=1)   # independent draws
    assert (cpu - gpu).abs().max() < 4 * math.sqrt(2 * .25 / 4000), (cpu, gpu)
    idxs, pi = select_subset(h.cuda(), 3, selector)
    assert idxs.device.type == 'cuda' and (pi is None or pi.device.type == 'cuda')


def learner(cbs, path=None):
    torch.manual_seed(0)
    return Learner(digits_dls(bs=64, device='cuda'), digits_mlp().cuda(), loss_func=CrossEntropyLossFlat(),
                   metrics=accuracy, cbs=cbs, path=path or tempfile.mkdtemp())

class SyncGuard(Callback):
    "Sets CUDA's sync debug mode to 'error' just before DIHCallback's per-batch events (on) or back to 'default' after (off)."
    def __init__(self, on:bool): self.on, self.order = on, DIHCallback.order + (-0.5 if on else 0.5)
    def _set(self):
        if self.training: torch.cuda.set_sync_debug_mode('error' if self.on else 'default')
    def before_batch(self): self._set()
    def after_loss(self): self._set()
    def after_step(self): self._set()
    def after_batch(self): self._set()

@pytest.mark.parametrize('metric,selector', [('dloss', 'exp'), ('loss', 'rand'), ('flip', 'beta'), ('dloss', 'greedy')])
def test_no_host_sync_per_batch(metric, selector):
    learn = learner([DIHCallback(metric=metric, selector=selector, warmup=1, seed=0), SyncGuard(True), SyncGuard(False)])
    try:
        with learn.no_bar(): learn.fit(3, 1e-2)
    finally: torch.cuda.set_sync_debug_mode('default')
    cur = learn.dih.curriculum
    assert cur.hardness.device.type == cur.counts.device.type == cur.inclusion.device.type == 'cuda'
    assert int(cur.counts.sum()) == sum(cur.subset_sizes) and cur.subset_sizes[-1] < cur.subset_sizes[0]


class Subsets(Callback):
    order = DIHCallback.order + 1
    def __init__(self): self.subsets = []
    def before_train(self): self.subsets.append(self.dih.curriculum.subset.cpu().clone())

def test_checkpoint_resumes_exactly_on_device():
    torch.use_deterministic_algorithms(True)
    try:
        path = tempfile.mkdtemp()
        dih = lambda: DIHCallback(metric='dloss', selector='exp', warmup=1, k_decay=.6, seed=3, show_subset=False)
        full = learner([dih(), rec_full := Subsets(), DIHSaveModelCallback(every_epoch=True)], path=path)
        with full.no_bar(), full.no_logging(): full.fit(5, 1e-2)
        resumed = learner([dih(), rec := Subsets()], path=path)
        load_checkpoint(resumed, 'model_2')
        assert resumed.dih.hardness.device.type == 'cuda'
        with resumed.no_bar(), resumed.no_logging(): resumed.fit(5, 1e-2, start_epoch=3)
    finally: torch.use_deterministic_algorithms(False)
    assert all(torch.equal(a, b) for a, b in zip(rec_full.subsets[3:], rec.subsets)) and len(rec.subsets) == 2
    assert torch.equal(full.dih.hardness, resumed.dih.hardness) and full.dih.hardness.device.type == 'cuda'
    assert all(torch.equal(p, q) for p, q in zip(full.model.parameters(), resumed.model.parameters()))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP with NCCL needs two GPUs")
def test_ddp_nccl(tmp_path):
    "The DDP test of test_ddp.py on two GPUs with NCCL: same subsets, fastai's shards, identical DIH on both ranks."
    import test_ddp as ddp
    p = ddp.torchrun(tmp_path, cuda=True)
    assert p.returncode == 0, p.stdout[-4000:]
    for name in ('dloss_exp', 'flip_greedy'):
        ranks = [torch.load(tmp_path/f'{name}_rank{r}.pt', weights_only=False, map_location='cpu') for r in (0, 1)]
        for check in (ddp.test_same_subsets, ddp.test_shards, ddp.test_identical_dih, ddp.test_matches_single_process_reference):
            check(ranks)
