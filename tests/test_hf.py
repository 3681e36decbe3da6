"""DIHTrainer (dihcl_nb.hf) on CPU with a tiny randomly initialised GPT-2 built from a config (no download): the schedule,
DIH changing only for the samples trained, per-sequence losses equal to the model's own loss with -100 labels ignored,
exact resumption from a Trainer checkpoint, the errors for data without a stable index or losses not per sample, and a
two-process DDP run (torchrun, gloo; this file is also the worker) keeping the ranks' states identical."""
import os, socket, subprocess, sys, warnings
from pathlib import Path
import pytest
import torch

transformers = pytest.importorskip('transformers', reason="the [hf] extra is not installed (pip install transformers)")
from torch.utils.data import IterableDataset
from transformers import GPT2Config, GPT2LMHeadModel, TrainerCallback, TrainingArguments
from dihcl_nb.hf import DIHTrainer, per_sample_loss, CURRICULUM_FILE, IDX_KEY

ROOT = Path(__file__).resolve().parents[1]
warnings.filterwarnings('ignore', message='.*(_id must be `None`|loss_type=None).*')
N, L = 48, 16

def data(n=N):
    "Random token sequences; every other one has its last 4 labels ignored (-100), as padding would."
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        ids = torch.randint(0, 100, (L,), generator=g)
        lab = ids.clone()
        if i % 2: lab[L - 4:] = -100
        out.append(dict(input_ids=ids, attention_mask=torch.ones(L, dtype=torch.long), labels=lab))
    return out

def gpt2(seed=0):
    torch.manual_seed(seed)
    return GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=L, bos_token_id=0,
                                      eos_token_id=0, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0))

def args(out, **kw):
    kw = dict(dict(per_device_train_batch_size=8, num_train_epochs=4, save_strategy='no', report_to=[], use_cpu=True,
                   logging_strategy='no', disable_tqdm=True, learning_rate=1e-3, seed=0), **kw)
    return TrainingArguments(str(out), **kw)

def make(out, dih=None, seed=0, **kw):
    return DIHTrainer(model=gpt2(seed), args=args(out, **kw), train_dataset=data(),
                      dih=dih or dict(metric='loss', selector='rand', warmup=1, k_decay=0.5, seed=0))

class Record(TrainerCallback):
    "Observer (after DIHTrainer's own events): DIH counts and values before and after each epoch."
    def __init__(self): self.epochs = []
    def on_epoch_begin(self, args, state, control, **kw):
        cur = self.trainer.curriculum; self.epochs.append(dict(c0=cur.counts.clone(), r0=cur.hardness.clone()))
    def on_epoch_end(self, args, state, control, **kw):
        cur = self.trainer.curriculum; self.epochs[-1].update(c1=cur.counts.clone(), r1=cur.hardness.clone())

def test_schedule_and_only_trained_samples_change(tmp_path):
    tr, rec = make(tmp_path), Record()
    rec.trainer = tr; tr.add_callback(rec)
    tr.train()
    cur = tr.curriculum
    assert cur.subset_sizes == [48, 24, 12, 10]                        # warm-up, then ×0.5 down to k_min = 0.2
    assert [h['dih_subset'] for h in tr.state.log_history if 'dih_subset' in h] == [48, 24, 12, 10]
    for e, k in zip(rec.epochs, cur.subset_sizes):
        trained = (e['c1'] - e['c0']).bool()
        assert set((e['c1'] - e['c0']).tolist()) <= {0, 1} and int(trained.sum()) == k
        assert not (e['r1'] != e['r0'])[~trained].any() and (e['r1'] != e['r0'])[trained].all()
    assert tr.state.global_step == 6 + 3 + 2 + 2 == tr.curriculum_steps(0)
    assert tr.lr_scheduler.get_last_lr()[0] == 0                       # the linear schedule spans the shrunk epochs
    assert tr.state.epoch == 4

def test_per_sequence_loss_is_the_models_own():
    "Each sequence's value equals the model's loss on that sequence alone (shifted labels, -100 ignored)."
    m, d = gpt2().eval(), data(6)
    ids, lab = torch.stack([x['input_ids'] for x in d]), torch.stack([x['labels'] for x in d])
    with torch.no_grad():
        ps = per_sample_loss(m(input_ids=ids).logits, lab, shift=True)
        ref = torch.stack([m(input_ids=ids[i:i+1], labels=lab[i:i+1]).loss for i in range(6)])
    torch.testing.assert_close(ps, ref)
    lab[0] = -100
    assert torch.isnan(per_sample_loss(m(input_ids=ids).logits, lab, shift=True)[0])   # nothing to learn: DIH skips it

def test_checkpoint_resumes_exactly(tmp_path):
    a = make(tmp_path/'a', save_strategy='epoch'); a.train()
    ck = tmp_path/'a'/'checkpoint-9'                                    # after epochs 1 (6 steps) and 2 (3 steps)
    assert torch.load(ck/CURRICULUM_FILE, weights_only=True)['epochs_done'] == 2
    b = make(tmp_path/'b', seed=5, dih=dict(metric='loss', selector='rand', warmup=1, k_decay=0.5, seed=99))
    b.train(resume_from_checkpoint=str(ck))
    sa, sb = a.curriculum.state_dict(), b.curriculum.state_dict()
    assert sa['subset_sizes'] == sb['subset_sizes'] == [48, 24, 12, 10] and sa['epoch'] == sb['epoch'] == 4
    for k in ('hardness', 'counts', 'last_loss'): assert torch.equal(sa['state'][k], sb['state'][k]), k
    assert torch.equal(sa['generator'], sb['generator'])
    for p, q in zip(a.model.parameters(), b.model.parameters()): assert torch.equal(p, q)

def test_errors(tmp_path):
    class Stream(IterableDataset):
        def __iter__(self): yield from data(4)
    with pytest.raises(ValueError, match='gives no stable sample index'):
        DIHTrainer(model=gpt2(), args=args(tmp_path), train_dataset=Stream())
    with pytest.raises(ValueError, match='items that are dicts'):
        DIHTrainer(model=gpt2(), args=args(tmp_path), train_dataset=[(x['input_ids'],) for x in data(8)]).train()
    nolab = [{k: v for k, v in x.items() if k != 'labels'} for x in data(8)]
    with pytest.raises(ValueError, match="cannot be made per sample: the batch has no 'labels'"):
        DIHTrainer(model=gpt2(), args=args(tmp_path), train_dataset=nolab).train()
    with pytest.raises(ValueError, match='gradient_accumulation_steps=2 is not supported'):
        make(tmp_path, gradient_accumulation_steps=2)
    with pytest.raises(ValueError, match=r"dih has unknown keys \['warm_up'\]"): make(tmp_path, dih=dict(warm_up=1))
    plain = transformers.Trainer(model=gpt2(), args=args(tmp_path/'p', save_strategy='epoch', num_train_epochs=1),
                                 train_dataset=data(8))
    plain.train()
    with pytest.raises(ValueError, match=f'has no {CURRICULUM_FILE}: it was not saved by a DIHTrainer'):
        make(tmp_path/'p').train(resume_from_checkpoint=str(tmp_path/'p'/'checkpoint-1'))

# ---------------------------------------------------------------- DDP: two CPU processes (gloo), this file is the worker
def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

class SpyTrainer(DIHTrainer):
    "Worker-side observer: each epoch's subset and the indices this rank trained (read before DIHTrainer pops them)."
    def compute_loss(self, model, inputs, *args, **kwargs):
        if model.training:
            if self.sampler.pos == 0: self.subsets.append(self.curriculum.subset.clone()); self.shards.append([])
            self.shards[-1].append(inputs[IDX_KEY].clone())
        return super().compute_loss(model, inputs, *args, **kwargs)

def ddp_worker(out):
    torch.set_num_threads(1)
    rank = int(os.environ['RANK'])
    tr = SpyTrainer(model=gpt2(), args=args(out, num_train_epochs=3, ddp_find_unused_parameters=False),
                    train_dataset=data(),                                                    # 48 samples, 8 a batch
                    dih=dict(metric='dloss', selector='exp', warmup=1, k_decay=0.6, seed=rank))   # rank 0's seed must win
    tr.subsets, tr.shards = [], []
    tr.train()
    torch.save(dict(world=tr.args.world_size, subsets=tr.subsets, shards=[torch.cat(s) for s in tr.shards],
                    state=tr.curriculum.state_dict(), steps=tr.state.global_step, planned=tr.curriculum_steps(0)),
               f'{out}/rank{rank}.pt')

def test_ddp_two_processes(tmp_path):
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]),
           'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={_free_port()}', __file__, str(tmp_path)]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)
    assert p.returncode == 0, p.stdout[-4000:]
    r0, r1 = (torch.load(tmp_path/f'rank{r}.pt', weights_only=True) for r in (0, 1))
    assert r0['world'] == r1['world'] == 2
    assert r0['state']['seed'] == r1['state']['seed'] == 0                # rank 0's curriculum copied to rank 1
    assert r0['state']['subset_sizes'] == r1['state']['subset_sizes'] == [48, 29, 17]   # padded repeats not counted
    trained = torch.zeros(N, dtype=torch.int32)
    for s0, s1, a, b in zip(r0['subsets'], r1['subsets'], r0['shards'], r1['shards']):
        assert torch.equal(s0, s1)                                       # the same subset on both ranks
        pad = (-len(s0)) % 2
        assert len(a) == len(b) and torch.equal(torch.cat([a, b]), torch.cat([s0, s0[:pad]]))   # contiguous blocks
        assert not set(a.tolist()) & set(b[:len(b) - pad].tolist())     # disjoint shards ...
        assert set(a.tolist()) | set(b.tolist()) == set(s0.tolist())    # ... whose union is the subset
        trained[torch.cat([a, b]).unique()] += 1
    assert len(r0['subsets']) == 3 and any(len(s) % 2 for s in r0['subsets'])   # an epoch exercised the padding
    for k in ('hardness', 'counts', 'last_loss', 'lr_mark', 'n_nonfinite'):
        assert torch.equal(r0['state']['state'][k], r1['state']['state'][k]), k
    assert r0['state']['state']['lr_total'] == r1['state']['state']['lr_total'] > 0
    assert torch.equal(r0['state']['state']['counts'], trained)         # each distinct sample trained counted once
    assert r0['steps'] == r1['steps'] == r0['planned'] == 3 + 2 + 2      # blocks of 24, 15 and 9 in batches of 8

if __name__ == '__main__':
    ddp_worker(sys.argv[1])
