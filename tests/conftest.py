import warnings
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated')
import torch
torch.set_num_threads(1)   # the tests train tiny models: one thread is fastest on a shared 2-core machine
