__version__ = "0.1.0"

# The public API; each name is defined (and documented) in the notebook of its module.
from .core import DIHState, METRICS
from .selectors import SELECTORS, select_subset, subset_size, sample_without_replacement
from .curriculum import DIHCurriculum, DIHSampler, IndexedDataset
from .callback import DIHCallback
from .distributed import DeviceDistributedLoaders
from .robustness import save_checkpoint, load_checkpoint, DIHSaveModelCallback
from .dynamics import Dynamics, DynamicsRecorder
from .diversity import Diversity, stochastic_greedy, FeatureStore
from .baselines import SPLCallback, MCLCallback
from .presets import PRESETS, preset_spec, preset_dls, preset_model
