"""DIHTrainer (dihcl_nb.hf) on CPU with a tiny randomly initialised GPT-2 built from a config (no download): the schedule,
DIH changing only for the samples trained, per-sequence losses equal to the model's own loss with -100 labels ignored,
exact resumption from a Trainer checkpoint, and the errors for data without a stable index or losses not per sample."""
import warnings
import pytest
import torch

transformers = pytest.importorskip('transformers', reason="the [hf] extra is not installed (pip install transformers)")
from torch.utils.data import IterableDataset
from transformers import GPT2Config, GPT2LMHeadModel, TrainerCallback, TrainingArguments
from dihcl_nb.hf import DIHTrainer, per_sample_loss, CURRICULUM_FILE
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
