"`README.md` is generated from `nbs/index.ipynb` (executed) by `dihcl_readme`; fail when the committed one is stale."
import re
from pathlib import Path
from dihcl_nb.docs import readme_md

ROOT = Path(__file__).resolve().parents[1]

def test_readme_is_current(tmp_path):
    new = readme_md(ROOT, files_root=tmp_path)
    old = (ROOT/'README.md').read_text(encoding='utf-8')
    assert new == old, "README.md is stale: run `dihcl_readme` and commit README.md (and index_files/ if it has figures)."
    for ref in re.findall(r'\]\((index_files/[^)\s]+)\)', new):
        assert (ROOT/ref).exists(), f"README.md shows {ref}, which is not committed: run `dihcl_readme`."

def test_readme_is_deterministic(tmp_path):
    assert readme_md(ROOT, files_root=tmp_path/'a') == readme_md(ROOT, files_root=tmp_path/'b')
