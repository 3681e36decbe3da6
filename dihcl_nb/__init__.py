__version__ = "0.1.0"

# The public API; each name is defined (and documented) in the notebook of its module. The core (DIH state,
# selectors, curriculum, sampler) needs only torch; the fastai adapters are imported on first use.
from .core import DIHState, METRICS
from .selectors import SELECTORS, select_subset, subset_size, sample_without_replacement
from .curriculum import DIHCurriculum, DIHSampler, IndexedDataset

_FASTAI = dict(DIHCallback='callback', DeviceDistributedLoaders='distributed', save_checkpoint='robustness',
               load_checkpoint='robustness', DIHSaveModelCallback='robustness', Dynamics='dynamics',
               DynamicsRecorder='dynamics', Diversity='diversity', stochastic_greedy='diversity', FeatureStore='diversity',
               SPLCallback='baselines', MCLCallback='baselines', PRESETS='presets', preset_spec='presets',
               preset_dls='presets', preset_model='presets')

def __getattr__(name):
    if name in _FASTAI:
        import importlib
        return getattr(importlib.import_module(f'.{_FASTAI[name]}', __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_FASTAI))
