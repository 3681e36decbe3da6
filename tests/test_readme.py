"""`README.md` is generated from `nbs/index.ipynb` (executed) by `python tools/dihcl_docs.py readme`; fail when the
committed one is stale."""
import re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from dihcl_docs import readme_md   # the development tool tools/dihcl_docs.py, not part of the package

def test_readme_is_current(tmp_path):
    new = readme_md(ROOT, files_root=tmp_path)
    old = (ROOT/'README.md').read_text(encoding='utf-8')
    assert new == old, ("README.md is stale: run `python tools/dihcl_docs.py readme` and commit README.md "
                        "(and index_files/ if it has figures).")
    for ref in re.findall(r'\]\((index_files/[^)\s]+)\)', new):
        assert (ROOT/ref).exists(), f"README.md shows {ref}, which is not committed: run `python tools/dihcl_docs.py readme`."

def test_readme_is_deterministic(tmp_path):
    assert readme_md(ROOT, files_root=tmp_path/'a') == readme_md(ROOT, files_root=tmp_path/'b')
