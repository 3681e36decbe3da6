"""The runtime against the newest fastai release (fastcore 2), in an overlay that leaves the pinned nbdev stack alone.

The overlay is installed once with pip (`--no-deps --target`) into ~/.cache/dihcl_nb/overlay-fastai-<version>."""
import os, subprocess, sys
from pathlib import Path
import pytest

NEWEST = ['fastai==2.8.12', 'fastcore==2.2.41', 'fasttransform', 'plum-dispatch<2.10']
HERE = Path(__file__).parent


@pytest.fixture(scope='module')
def overlay():
    d = Path(os.environ.get('DIHCL_OVERLAY', Path.home() / '.cache' / 'dihcl_nb' / 'overlay-fastai-2.8.12'))
    if not (d / 'fastai').exists():
        r = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', str(d), *NEWEST],
                           capture_output=True, text=True)
        if r.returncode: pytest.fail(f"could not install the newest fastai overlay:\n{r.stderr[-2000:]}")
    return d


def test_runtime_with_newest_fastai(overlay):
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(overlay), str(HERE)])}
    r = subprocess.run([sys.executable, '-c', 'import fastai, fastcore, runtime_checks as c; '
                        'assert fastai.__version__ == "2.8.12", fastai.__version__; '
                        'assert fastcore.__version__.startswith("2."), fastcore.__version__; '
                        '[f() for f in c.ALL]; print("ok", fastai.__version__, fastcore.__version__)'],
                       capture_output=True, text=True, env=env, cwd=HERE, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'ok 2.8.12 2.' in r.stdout
