"""Checks of the installed runtime, run by test_runtime.py with the pinned fastai and, in a subprocess, with the
newest fastai release (see test_newest_fastai.py). Each function raises on failure."""
import warnings
import numpy as np, pandas as pd, torch
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')
torch.set_num_threads(1)   # tiny models: one thread is fastest


RUNTIME_MODULES = ['core', 'selectors', 'curriculum', 'callback', 'data', 'compare', 'schedule', 'theory', 'distributed',
                   'robustness', 'dynamics', 'observe', 'bench',
                   'diversity', 'baselines', 'presets']


def check_import():
    "The public names and every runtime module; the docs renderer is a dev tool (tools/dihcl_docs.py), not a module."
    import importlib, importlib.util, dihcl_nb
    for m in RUNTIME_MODULES: importlib.import_module(f'dihcl_nb.{m}')
    assert importlib.util.find_spec('dihcl_nb.docs') is None, "dihcl_nb.docs is back in the runtime package"
    from dihcl_nb import DIHCallback, DIHCurriculum, DIHSampler, DIHState
    assert dihcl_nb.__version__
    return DIHCallback


def check_digits_learner():
    "DIHCallback on an MLP over in-memory tensors: the schedule is followed and DIH moves."
    from fastai.basics import Learner, CrossEntropyLossFlat, accuracy
    from fastai.callback.progress import ProgressCallback   # registers Learner.no_bar
    from dihcl_nb import DIHCallback
    from dihcl_nb.data import digits_dls, digits_mlp
    dls = digits_dls(bs=64)
    torch.manual_seed(0)
    learn = Learner(dls, digits_mlp(), loss_func=CrossEntropyLossFlat(), metrics=accuracy,
                    cbs=DIHCallback(metric='loss', selector='rand', warmup=1, k_decay=0.5, k_min=0.25, seed=0))
    with learn.no_bar(), learn.no_logging(): learn.fit(4, 3e-3)
    assert learn.dih.subset_sizes == [1408, 704, 320, 320], learn.dih.subset_sizes   # 1437, 718, 359, 359 less drop_last
    assert int(learn.dih.counts.sum()) == sum(learn.dih.subset_sizes)
    assert float(learn.dih.hardness.std()) > 0
    acc = float(learn.validate()[1])
    assert acc > 0.85, acc
    return acc


def check_tabular_learner():
    "DIHCallback on a fastai tabular Learner (categorical + continuous columns, a pandas DataFrame)."
    from fastai.tabular.all import TabularDataLoaders, tabular_learner, Categorify, Normalize, accuracy
    from dihcl_nb import DIHCallback
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({'a': rng.normal(size=n), 'b': rng.normal(size=n), 'cat': rng.choice(list('xyz'), n)})
    df['y'] = ((df.a + df.b + (df.cat == 'x')) > 0.5).astype(int).astype(str)
    dls = TabularDataLoaders.from_df(df, y_names='y', cat_names=['cat'], cont_names=['a', 'b'],
                                     procs=[Categorify, Normalize], bs=64, valid_idx=list(range(500, 600)), num_workers=0)
    torch.manual_seed(0)
    learn = tabular_learner(dls, layers=[32], metrics=accuracy,
                            cbs=DIHCallback(metric='flip', selector='beta', warmup=2, k_min=0.5, seed=0))
    with learn.no_bar(), learn.no_logging(): learn.fit(5, 1e-2)
    assert learn.dih.subset_sizes == [448, 448, 384, 320, 256], learn.dih.subset_sizes
    assert int(learn.dih.counts.sum()) == sum(learn.dih.subset_sizes)
    acc = float(learn.validate()[1])
    assert acc > 0.8, acc
    return acc


def check_compare_job():
    "The main job's training function, one short run per kind of method."
    from dihcl_nb.compare import compare
    tab, curves = compare('digits', ['random', 'dihcl-exp-dloss'], seeds=1, epochs=4, progress=False)
    assert list(tab.index) == ['random', 'dihcl-exp-dloss'] and len(curves) == 8
    assert tab.loc['dihcl-exp-dloss', 'sample-grads'] == tab.loc['random', 'sample-grads']   # all warm-up epochs
    return tab


ALL = [check_import, check_digits_learner, check_tabular_learner, check_compare_job]

if __name__ == '__main__':
    import fastai
    for f in ALL: f()
    print(f"runtime checks passed with fastai {fastai.__version__}")
