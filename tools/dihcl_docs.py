"""Render the notebooks into the documentation site and `README.md` with pandoc, where Quarto is not installed.

A development tool, not part of the `dihcl_nb` package: it needs the `[dev]` extra (nbdev, execnb, PyYAML,
pypandoc-binary). Run it from the project root:

    python tools/dihcl_docs.py site      # the site, into `_docs/` (`--no_exec`, `--force`, `--dest`, `--n_workers`)
    python tools/dihcl_docs.py readme    # `README.md` (and `index_files/`) from `nbs/index.ipynb`, executed

`nbs/80_docs.ipynb` documents it (the page "Documentation site") and tests it; `tests/test_site.py` and
`tests/test_readme.py` import it with `tools/` put on `sys.path`."""

from __future__ import annotations
import argparse, html, json, os, re, shutil, subprocess, tempfile, hashlib, base64, fnmatch, warnings
from pathlib import Path
import yaml
from fastcore.xtras import working_directory
from fastcore.parallel import parallel
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.process import NBProcessor, extract_directives
from nbdev.frontmatter import FrontmatterProc
from nbdev.processors import FilterDefaults
from nbdev.doclinks import _nbpath2html
import nbdev

# ## Pages and the sidebar

def pandoc_path() -> str:
    "The pandoc binary: `$PANDOC`, else the one `pypandoc-binary` ships, else `pandoc` on the `PATH`."
    if os.environ.get('PANDOC'): return os.environ['PANDOC']
    try:
        import pypandoc
        return pypandoc.get_pandoc_path()
    except (ImportError, OSError): pass
    p = shutil.which('pandoc')
    if p is None: raise RuntimeError("pandoc not found: `pip install pypandoc-binary` or set $PANDOC.")
    return p

def _highlight_opt(style:str='pygments') -> str:
    "The highlighting option of this pandoc: `--syntax-highlighting` from 3.8 on, `--highlight-style` before."
    out = subprocess.run([pandoc_path(), '--version'], capture_output=True, text=True).stdout
    v = tuple(int(x) for x in re.search(r'(\d+)\.(\d+)', out).groups())
    return f"--syntax-highlighting={style}" if v >= (3, 8) else f"--highlight-style={style}"

def notebooks(nbs:Path) -> list[Path]:
    "The notebooks under `nbs` that nbdev renders (no file or folder starting with `_` or `.`), sorted."
    return sorted(p for p in Path(nbs).rglob('*.ipynb')
                  if not any(part[0] in '_.' for part in p.relative_to(nbs).parts))

def _braces(pat:str) -> list[str]:
    "Expand `{a,b}` alternatives in a glob."
    m = re.search(r'\{([^{}]*)\}', pat)
    if not m: return [pat]
    return [q for alt in m.group(1).split(',') for q in _braces(pat[:m.start()] + alt + pat[m.end():])]

def glob_match(pat:str, rel:str) -> bool:
    "Does the posix path `rel` (relative to the notebooks folder) match Quarto glob `pat`? A leading `/` anchors it."
    rooted, pat = pat.startswith('/'), pat.lstrip('/')
    return any(fnmatch.fnmatchcase(rel, p) or (not rooted and fnmatch.fnmatchcase(rel, '*/' + p)) for p in _braces(pat))

def frontmatter(path:Path) -> dict:
    "Front matter of the notebook at `path` (YAML raw cell or `# Title` / `> description` cell), as nbdev reads it."
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    return dict(getattr(nb, 'frontmatter_', {}) or {})

class Page:
    "One rendered notebook: source `path`, its `rel` path under the notebooks folder, `href` of the HTML, `title`."
    def __init__(self, path:Path, nbs:Path):
        self.path, self.rel = Path(path), Path(path).relative_to(nbs).as_posix()
        self.fm = frontmatter(self.path)
        self.href = self.fm.get('output-file') or _nbpath2html(Path(self.rel)).name
        self.href = (Path(self.rel).parent/self.href).as_posix()
        self.title = str(self.fm.get('title') or Path(self.rel).stem)
    def __repr__(self): return f"Page({self.rel!r} → {self.href!r}, {self.title!r})"

# `sidebar_tree` turns `website.sidebar.contents` into a tree of `('section', title, children)` and
# `('page', title, href)`; entries may be a path, a glob, `auto`, `{href, text}` or `{section, contents}`, as in Quarto.
def sidebar_tree(contents, pages:list[Page], used:set|None=None) -> list:
    "Expand Quarto sidebar `contents` over `pages`; each page is listed once, under its first match."
    used = set() if used is None else used
    if contents is None: return []
    if isinstance(contents, (str, dict)): contents = [contents]
    out = []
    for item in contents:
        if isinstance(item, dict) and 'section' in item:
            kids = sidebar_tree(item.get('contents'), pages, used)
            if kids: out.append(('section', str(item['section']), kids))
            continue
        text = None
        if isinstance(item, dict): item, text = item.get('href'), item.get('text')
        if item is None: continue
        if re.match(r'^[a-z]+://', item):
            out.append(('page', text or item, item)); continue
        pat = '*' if item == 'auto' else item
        for p in pages:
            if p.rel in used or not glob_match(pat if any(c in pat for c in '*?[{') else '/' + pat.lstrip('/'), p.rel): continue
            used.add(p.rel); out.append(('page', text or p.title, p.href))
    return out

def tree_hrefs(tree) -> list[str]:
    "Every `href` in a sidebar tree, in order."
    return [h for kind, _, x in tree for h in (tree_hrefs(x) if kind == 'section' else [x])]

# ## Configuration

class Site:
    "The site's configuration: `_quarto.yml` of the notebooks folder, `settings.ini`, the pages and the sidebar."
    def __init__(self, path=None):
        self.cfg = get_config(path=path)
        self.root, self.nbs = Path(self.cfg.config_path), Path(self.cfg.nbs_path)
        qy = self.nbs/'_quarto.yml'
        self.quarto = yaml.safe_load(qy.read_text()) if qy.exists() else {}
        web = self.quarto.get('website', {}) or {}
        self.title = str(web.get('title') or self.cfg.get('title') or self.cfg.lib_name)
        self.description = self.cfg.get('description', '')
        self.site_url = (self.cfg.get('doc_host', '').rstrip('/') + '/' + self.cfg.get('doc_baseurl', '').strip('/') + '/').replace(':///', '://')
        self.pages = [Page(p, self.nbs) for p in notebooks(self.nbs)]
        self.sidebar = sidebar_tree((web.get('sidebar', {}) or {}).get('contents', 'auto'), self.pages)
        self.navbar = web.get('navbar', {}) or {}
        html_fmt = ((self.quarto.get('format', {}) or {}).get('html', {}) or {})
        self.toc, self.css = html_fmt.get('toc', True), html_fmt.get('css')
        self.unlisted = [p for p in self.pages if p.href not in tree_hrefs(self.sidebar)]
    def __repr__(self): return f"Site({self.title!r}, {len(self.pages)} pages)"

# ## Executing and processing

def skip_flags(cfg=None) -> set[str]:
    "The `tst_flags` of `settings.ini`: cells flagged with one of them are not executed, as in `nbdev_test`."
    cfg = cfg or get_config()
    return set(cfg.get('tst_flags', '').split())

def _no_eval(flags):
    "`run_all` preprocessor: skip markdown, the export call, `eval: false` and flagged cells."
    def f(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        d = extract_directives(cell, remove=False)
        if str(d.get('eval:', [''])[0]).lower() == 'false': return True
        return bool(flags & d.keys())
    return f

def execute_nb(nb, path:Path, flags:set[str]=frozenset()):
    "Run the code cells of `nb` (read from `path`) in place in a fresh shell, in the notebook's folder; raise on error."
    path = Path(path).absolute()
    os.environ['IN_TEST'] = '1'
    k = CaptureShell(path)
    try:
        with working_directory(path.parent): k.run_all(nb, exc_stop=True, preproc=_no_eval(set(flags)))
    except Exception as e:
        raise RuntimeError(f"Executing {path.name} for the docs failed:\n{k.prettytb(fname=path)}") from e
    finally: os.environ.pop('IN_TEST', None)
    return nb

def cache_key(path:Path, cfg, flags, execute:bool) -> str:
    "Hash of what the processed notebook depends on: its cells, the library source, this tool, settings, nbdev, flags."
    h = hashlib.sha256()
    nbj = json.loads(Path(path).read_text(encoding='utf-8'))
    for c in nbj['cells']:
        src = c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
        h.update(json.dumps([c['cell_type'], src]).encode())
    lib = Path(cfg.lib_path)
    for f in sorted(lib.rglob('*.py')): h.update(f.relative_to(lib).as_posix().encode() + f.read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(Path(cfg.config_file).read_bytes())
    h.update(json.dumps([nbdev.__version__, sorted(flags), bool(execute)]).encode())
    return h.hexdigest()

def process_nb(path:Path, execute:bool=True, force:bool=False, cache:Path|None=None) -> dict:
    "Execute (unless `execute=False` or `skip_exec`) and process the notebook at `path` with nbdev's `FilterDefaults`; cached."
    cfg = get_config()
    path = Path(path).absolute()
    fm = frontmatter(path)
    execute = execute and not str(fm.get('skip_exec', '')).lower() in ('true', '1', 'yes')
    flags = skip_flags(cfg)
    key = cache_key(path, cfg, flags, execute)
    cache = Path(cache or cfg.config_path/'_proc'/'_executed')
    cf = cache/(path.relative_to(cfg.nbs_path).with_suffix('').as_posix().replace('/', '__') + '.ipynb')
    if not force and cf.exists():
        d = json.loads(cf.read_text(encoding='utf-8'))
        if d.get('metadata', {}).get('dihcl_docs_key') == key: return d
    nb = read_nb(path)
    if execute: execute_nb(nb, path, flags)
    nb.path_ = str(path)
    with working_directory(cfg.config_path):
        os.environ['IN_TEST'] = '1'
        try: FilterDefaults()(nb)
        finally: os.environ.pop('IN_TEST', None)
    nb.metadata['dihcl_docs_key'] = key
    cache.mkdir(parents=True, exist_ok=True)
    write_nb(nb, cf)
    return json.loads(cf.read_text(encoding='utf-8'))

# ## From a processed notebook to pandoc markdown
#
# `nb2md` writes what Quarto would see: front matter, markdown cells as they are, and each code cell as a `.cell`
# div holding the code (unless `echo: false`) and its outputs (unless `output: false`). Images are written to
# `{stem}_files/figure-{fmt}/cell-{i}-output-{j}.png` next to the page, as Quarto names them, so pages and README are
# deterministic.

_re_opt = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_re_ansi = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')

def cell_options(src:str) -> tuple[dict, str]:
    "Split the Quarto `#| key: value` options at the top of a code cell from its code."
    opts, lines = {}, src.splitlines()
    while lines and _re_opt.match(lines[0]):
        k, v = _re_opt.match(lines.pop(0)).groups()
        try: opts[k] = yaml.safe_load(v) if v else None
        except yaml.YAMLError: opts[k] = v
    return opts, '\n'.join(lines).strip('\n')

def _text(x) -> str: return ''.join(x) if isinstance(x, list) else str(x)

def _fence(code:str, info:str='') -> str:
    "A fenced code block longer than any backtick run inside `code`."
    n = max([3] + [len(m) + 1 for m in re.findall(r'`{3,}', code)])
    return f"{'`'*n}{info}\n{code.rstrip()}\n{'`'*n}"

_MIME = ('text/markdown', 'image/svg+xml', 'image/png', 'image/jpeg', 'text/html', 'text/latex', 'text/plain')

def _output_md(o, asis:bool, img, opts:dict) -> str:
    "Markdown for one output `o`; `img(ext, data)` stores an image and returns its relative path."
    t = o.get('output_type')
    if t == 'stream':
        txt = _re_ansi.sub('', _text(o.get('text', '')))
        txt = '\n'.join(l.rsplit('\r', 1)[-1] for l in txt.split('\n'))  # keep what a terminal shows after `\r`
        if not txt.strip(): return ''
        if asis: return txt
        return f"::: {{.cell-output .cell-output-{o.get('name', 'stdout')}}}\n{_fence(txt)}\n:::"
    if t == 'error':
        tb = _re_ansi.sub('', '\n'.join(o.get('traceback', []) or [f"{o.get('ename')}: {o.get('evalue')}"]))
        return f"::: {{.cell-output .cell-output-error}}\n{_fence(tb)}\n:::"
    data = o.get('data', {})
    mime = next((m for m in _MIME if m in data), None)
    if mime is None: return ''
    v = data[mime]
    if mime == 'text/markdown': body = _text(v)
    elif mime.startswith('image/'):
        ext = {'image/svg+xml': 'svg', 'image/png': 'png', 'image/jpeg': 'jpg'}[mime]
        raw = _text(v).encode() if ext == 'svg' else base64.b64decode(_text(v))
        meta = (o.get('metadata', {}) or {}).get(mime, {}) or {}
        attrs = ' '.join(f'{k}="{meta[k]}"' for k in ('width', 'height') if k in meta)
        body = f"![{opts.get('fig-cap') or ''}]({img(ext, raw)})" + (f"{{{attrs}}}" if attrs else '')
    elif mime == 'text/html': body = '```{=html}\n' + _text(v).rstrip() + '\n```'
    elif mime == 'text/latex': body = _text(v)
    else:
        txt = _re_ansi.sub('', _text(v))
        body = txt if asis else _fence(txt)
    return body if asis else f"::: {{.cell-output .cell-output-display}}\n{body}\n:::"

def nb2md(nb:dict, files_dir:Path, files_rel:str, fmt:str='html') -> tuple[dict, str]:
    "Front matter and pandoc markdown of a processed notebook `nb`; images go to `files_dir` (`files_rel` from the page)."
    meta, parts = {}, []
    for ci, c in enumerate(nb['cells'], 1):
        src = _text(c.get('source', ''))
        if c['cell_type'] == 'raw':
            m = re.match(r'^\s*---\s*\n(.*?)\n---\s*$', src, flags=re.S)
            if m and not meta: meta = yaml.safe_load(m.group(1)) or {}
            else: parts.append(src)
            continue
        if c['cell_type'] == 'markdown':
            parts.append(src); continue
        opts, code = cell_options(src)
        if opts.get('include') is False: continue
        out = []
        if opts.get('echo', True) is not False and code.strip():
            block = _fence(code, 'python')
            if opts.get('code-fold') not in (None, False):
                summ = html.escape(str(opts.get('code-summary', 'Code')))
                block = (f"```{{=html}}\n<details class=\"code-fold\"{' open' if opts['code-fold'] == 'show' else ''}>"
                         f"<summary>{summ}</summary>\n```\n\n{block}\n\n```{{=html}}\n</details>\n```")
            out.append(block)
        if opts.get('output', True) is not False:
            asis = opts.get('output') == 'asis'
            for oi, o in enumerate(c.get('outputs', []) or [], 1):
                def img(ext, raw, oi=oi):
                    name = f"cell-{ci}-output-{oi}.{ext}"
                    files_dir.mkdir(parents=True, exist_ok=True)
                    (files_dir/name).write_bytes(raw)
                    return f"{files_rel}/{name}"
                md = _output_md(o, asis, img, opts)
                if md: out.append(md)
        if out: parts.append("::: {.cell}\n" + '\n\n'.join(out) + "\n:::")
    return meta, '\n\n'.join(p.strip('\n') for p in parts if p.strip()) + '\n'

# ## Rendering with pandoc
#
# A Lua filter does what needs the document tree: callouts get a title (the `title` attribute, a leading heading, or
# the kind), links to `*.ipynb` become links to their pages, links into the published site (nbdev's API links use
# `doc_host`) become relative so they work offline and are checked; for `README.md` callouts become GitHub alerts,
# `.cell` divs are unwrapped, and images next to the notebooks are addressed from the repository root.

LUA_FILTER = r'''
local cfg = {links = {}, site_url = '', root = '', gfm = false, res_prefix = '', own_prefix = ''}
local p = os.getenv('DIHCL_DOCS_FILTER')
if p then local f = io.open(p); cfg = pandoc.json.decode(f:read('a'), false); f:close() end
local kinds = {note = 'Note', tip = 'Tip', warning = 'Warning', caution = 'Caution', important = 'Important'}

local function target(t)
  if cfg.site_url ~= '' and t:sub(1, #cfg.site_url) == cfg.site_url then
    if cfg.gfm then return t end
    t = cfg.root .. t:sub(#cfg.site_url + 1)
    if t == '' then t = 'index.html' end
  end
  local path, rest = t:match('^([^#?]*)(.*)$')
  if path:match('^%a[%w+.-]*:') then return t end
  if path:match('%.ipynb$') then
    local base = path:match('([^/]*)$')
    local page = cfg.links[base]
    if page then
      if cfg.gfm then return cfg.site_url .. page .. rest end
      path = path:sub(1, #path - #base) .. page:match('([^/]*)$')
    end
  end
  return path .. rest
end

function Link(el) el.target = target(el.target); return el end

-- API entries of private names (`### _SharedLoss`): pandoc's identifier drops the leading underscore, nbdev's links keep it
function Header(h)
  local text = pandoc.utils.stringify(h.content)
  if text:match('^_[%w_.]+$') then h.identifier = text:lower() end
  return h
end

function Image(el)
  if cfg.gfm and not el.src:match('^%a[%w+.-]*:') and not el.src:match('^/')
     and el.src:sub(1, #cfg.own_prefix) ~= cfg.own_prefix then
    el.src = cfg.res_prefix .. el.src
  end
  return el
end

function Div(el)
  for _, cls in ipairs(el.classes) do
    local kind = cls:match('^callout%-(%a+)$')
    if kind and kinds[kind] then
      local body = el.content
      local title = el.attributes.title
      if not title and #body > 0 and body[1].t == 'Header' then
        title = pandoc.utils.stringify(body[1]); body:remove(1)
      end
      title = title or kinds[kind]
      if cfg.gfm then
        local blocks = pandoc.Blocks{pandoc.RawBlock('markdown', '[!' .. kind:upper() .. ']')}
        if title ~= kinds[kind] then blocks:insert(pandoc.Para{pandoc.Strong{pandoc.Str(title)}}) end
        blocks:extend(body)
        return pandoc.BlockQuote(blocks)
      end
      return pandoc.Div({pandoc.Div(pandoc.Plain{pandoc.Str(title)}, {class = 'callout-title'}),
                         pandoc.Div(body, {class = 'callout-body'})},
                        {class = 'callout callout-' .. kind})
    end
    if cfg.gfm and (cls == 'cell' or cls:match('^cell%-output')) then return el.content end
  end
end
'''

def run_pandoc(md:str, to:str, filter_cfg:dict, extra:list[str]=(), template:str|None=None,
               reader:str='markdown-yaml_metadata_block-smart') -> str:
    "Convert markdown `md` with pandoc to format `to`, through `LUA_FILTER` configured by `filter_cfg`."
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d/'filter.lua').write_text(LUA_FILTER, encoding='utf-8')
        (d/'filter.json').write_text(json.dumps(filter_cfg), encoding='utf-8')
        args = [pandoc_path(), '-f', reader, '-t', to, '--lua-filter', str(d/'filter.lua'), *extra]
        if template is not None:
            (d/'tpl').write_text(template, encoding='utf-8'); args += ['--standalone', '--template', str(d/'tpl')]
        env = {**os.environ, 'DIHCL_DOCS_FILTER': str(d/'filter.json')}
        r = subprocess.run(args, input=md, capture_output=True, text=True, encoding='utf-8', env=env)
    if r.returncode: raise RuntimeError(f"pandoc failed ({r.returncode}):\n{r.stderr}")
    if r.stderr.strip(): warnings.warn(f"pandoc: {r.stderr.strip()}")
    return r.stdout

_FRAGMENT = "$description$\n<!--DIHCL-SPLIT-->\n$if(toc)$$table-of-contents$$endif$\n<!--DIHCL-SPLIT-->\n$body$"

def md2html(md:str, filter_cfg:dict, toc:bool=True, description:str='') -> tuple[str, str, str]:
    "HTML `(description, toc, body)` of markdown `md` and the markdown `description`: MathML, highlighted code, section divs."
    extra = ['--mathml', '--section-divs', _highlight_opt(), '--wrap=none']
    if toc: extra += ['--toc', '--toc-depth=3']
    with tempfile.TemporaryDirectory() as d:
        mf = Path(d)/'meta.yml'
        mf.write_text(yaml.safe_dump({'description': str(description)}), encoding='utf-8')
        out = run_pandoc(md, 'html5', filter_cfg, extra + ['--metadata-file', str(mf)], template=_FRAGMENT)
    desc, toc_html, body = out.split('<!--DIHCL-SPLIT-->', 2)
    return desc.strip(), toc_html.strip(), body.strip()

def highlight_css() -> str:
    "The CSS of pandoc's `pygments` highlighting style."
    return run_pandoc('```python\nx = 1\n```', 'html5', {}, [_highlight_opt()],
                      template='$highlighting-css$')

# ## The page template

SITE_CSS = r'''
:root { --primary: #2780e3; --fg: #212529; --muted: #6c757d; --border: #dee2e6; --code-bg: #f8f9fa; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); line-height: 1.5; font-size: 1rem; }
a { color: var(--primary); text-decoration: none; } a:hover { text-decoration: underline; }
.navbar { display: flex; align-items: center; gap: 1.5rem; background: var(--primary); color: #fff; padding: .6rem 1.5rem; }
.navbar a { color: rgba(255,255,255,.85); } .navbar a:hover, .navbar a.active { color: #fff; }
.navbar .navbar-brand { font-size: 1.25rem; color: #fff; font-weight: 500; }
.navbar nav { display: flex; gap: 1rem; } .navbar .navbar-right { margin-left: auto; }
.page-layout { display: grid; grid-template-columns: 16rem minmax(0, 1fr) 14rem; gap: 2rem; max-width: 90rem; margin: 0 auto; padding: 1.5rem; }
.sidebar, .toc { font-size: .9rem; position: sticky; top: 1rem; align-self: start; max-height: calc(100vh - 2rem); overflow-y: auto; }
.sidebar ul, .toc ul { list-style: none; padding-left: .75rem; margin: .2rem 0; } .sidebar > ul { padding-left: 0; }
.sidebar li { margin: .2rem 0; } .sidebar .sidebar-section { font-weight: 600; margin-top: .8rem; color: var(--fg); }
.sidebar a.active { font-weight: 600; color: var(--fg); border-left: 2px solid var(--primary); padding-left: .4rem; }
.toc h2 { font-size: .9rem; margin: 0 0 .4rem; } .toc a { color: var(--muted); }
main { min-width: 0; }
#title-block-header h1.title { font-size: 2.2rem; margin: 0 0 .4rem; } #title-block-header .description { color: var(--muted); font-size: 1.15rem; margin-top: 0; } .description p { margin-top: 0; }
table.dataframe { border: 0; } table.dataframe td, table.dataframe th { border: 0; border-bottom: 1px solid var(--border); }
pre { background: var(--code-bg); padding: .7rem 1rem; border-radius: .25rem; overflow-x: auto; font-size: .875rem; }
code { font-size: .875em; } p code, li code, td code { color: #9753b8; }
.cell-output pre { background: #fff; border-left: 3px solid var(--border); }
.cell-output-stderr pre { border-left-color: #ffc107; } .cell-output-error pre { border-left-color: #dc3545; }
.cell-output-display img { max-width: 100%; height: auto; }
img { max-width: 100%; height: auto; }
details.code-fold > summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border-bottom: 1px solid var(--border); padding: .3rem .6rem; text-align: left; }
thead th { border-bottom: 2px solid var(--fg); }
hr { border: 0; border-top: 1px solid var(--border); margin: 1.5rem 0; }
math[display="block"] { margin: .8rem 0; overflow-x: auto; }
.callout { border: 1px solid var(--border); border-left: 5px solid var(--muted); border-radius: .25rem; margin: 1rem 0; }
.callout-title { font-weight: 600; padding: .4rem .8rem; background: #f3f4f6; }
.callout-body { padding: .2rem .8rem; }
.callout-note { border-left-color: #0d6efd; } .callout-note .callout-title { background: #e7f1ff; }
.callout-tip { border-left-color: #198754; } .callout-tip .callout-title { background: #e8f5ee; }
.callout-warning { border-left-color: #ffc107; } .callout-warning .callout-title { background: #fff8e1; }
.callout-caution { border-left-color: #fd7e14; } .callout-caution .callout-title { background: #fff0e3; }
.callout-important { border-left-color: #dc3545; } .callout-important .callout-title { background: #fde8ea; }
footer { color: var(--muted); font-size: .85rem; text-align: center; padding: 2rem; }
@media (max-width: 60rem) { .page-layout { grid-template-columns: 1fr; } .sidebar, .toc { position: static; max-height: none; } }
'''

def _rel(href:str, root:str) -> str: return href if re.match(r'^[a-z]+://', href) else root + href

def sidebar_html(tree, current:str, root:str) -> str:
    "The sidebar tree as nested lists, `current` page marked."
    items = []
    for kind, title, x in tree:
        if kind == 'section':
            items.append(f'<li><div class="sidebar-section">{html.escape(title)}</div>{sidebar_html(x, current, root)}</li>')
        else:
            act = ' class="active" aria-current="page"' if x == current else ''
            items.append(f'<li><a href="{html.escape(_rel(x, root))}"{act}>{html.escape(title)}</a></li>')
    return '<ul>' + ''.join(items) + '</ul>'

def _nav_items(items, site:Site, current:str, root:str) -> str:
    "Navbar links from `website.navbar.left`/`right` entries (a path, or `{text, href, icon}`)."
    by_rel = {p.rel: p for p in site.pages}
    out = []
    for it in items or []:
        if isinstance(it, str): it = {'href': it}
        href = str(it.get('href', ''))
        page = by_rel.get(href.lstrip('/'))
        text = it.get('text') or (page.title if page else None) or str(it.get('icon', href)).title()
        if page: href = page.href
        act = ' class="active"' if href == current else ''
        label = f' aria-label="{html.escape(str(it.get("aria-label", text)))}"'
        out.append(f'<a href="{html.escape(_rel(href, root))}"{act}{label}>{html.escape(str(text))}</a>')
    return ''.join(out)

PAGE = '''<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tools/dihcl_docs.py (pandoc)">
<title>{title} – {site}</title>
<meta name="description" content="{description}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{root}site.css">
<link rel="stylesheet" href="{root}highlight.css">{css}
</head>
<body>
<header class="navbar"><a class="navbar-brand" href="{root}index.html">{site}</a><nav class="navbar-left">{left}</nav><nav class="navbar-right">{right}</nav></header>
<div class="page-layout">
<nav id="sidebar" class="sidebar" aria-label="Site">{sidebar}</nav>
<main id="content">
<header id="title-block-header"><h1 class="title">{title}</h1>{desc_html}</header>
{body}
</main>
<nav id="TOC-nav" class="toc" aria-label="On this page">{toc}</nav>
</div>
<footer>{site} · rendered from the notebooks by <code>tools/dihcl_docs.py</code></footer>
</body>
</html>
'''

def render_page(site:Site, page:Page, nb:dict, dest:Path) -> Path:
    "Render processed notebook `nb` of `page` into `dest`, images under `{stem}_files/figure-html/`."
    out = Path(dest)/page.href
    out.parent.mkdir(parents=True, exist_ok=True)
    root = '../' * (len(Path(page.href).parts) - 1)
    files = f"{Path(page.href).stem}_files/figure-html"
    meta, md = nb2md(nb, out.parent/files, files, 'html')
    fcfg = {'links': {Path(p.rel).name: p.href for p in site.pages}, 'site_url': site.site_url, 'root': root, 'gfm': False}
    title = str(meta.get('title', page.title))
    desc = str(meta.get('description', '') or '')
    desc_html, toc, body = md2html(md, fcfg, toc=bool(meta.get('toc', site.toc)), description=desc)
    css = f'\n<link rel="stylesheet" href="{root}{html.escape(site.css)}">' if site.css and (site.nbs/site.css).exists() else ''
    e = html.escape
    out.write_text(PAGE.format(
        title=e(title), site=e(site.title), description=e(desc or site.description), root=root, css=css,
        desc_html=f'<div class="description">{desc_html}</div>' if desc else '',
        left=_nav_items(site.navbar.get('left'), site, page.href, root),
        right=_nav_items(site.navbar.get('right'), site, page.href, root),
        sidebar=sidebar_html(site.sidebar, page.href, root),
        toc=(f'<h2>On this page</h2>{toc}' if toc else ''), body=body), encoding='utf-8')
    _copy_resources(body, page.path.parent, out.parent)
    return out

def _copy_resources(body:str, src_dir:Path, out_dir:Path):
    "Copy local files that `body` refers to (images, downloads) from the notebook's folder next to the page."
    for ref in re.findall(r'(?:src|href)="([^"#?]+)', body):
        if re.match(r'^[a-z]+:', ref) or ref.startswith('/') or ref.endswith('.html'): continue
        s, d = src_dir/ref, out_dir/ref
        if s.is_file() and not d.exists():
            d.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(s, d)

# ## Building the site

def _proc_one(path, execute=True, force=False):
    "Worker: process one notebook (a top-level function, so `parallel` can spawn it)."
    return process_nb(Path(path), execute=execute, force=force)

def process_all(site:Site, execute:bool=True, force:bool=False, n_workers:int|None=None) -> dict:
    "Processed notebooks of every page, executed in parallel worker processes as in `nbdev_test`."
    n_workers = os.cpu_count() if n_workers is None else n_workers
    paths = [str(p.path) for p in site.pages]
    with working_directory(site.root):
        if n_workers <= 1 or len(paths) <= 1: res = [_proc_one(p, execute, force) for p in paths]
        else: res = parallel(_proc_one, paths, execute=execute, force=force, n_workers=n_workers, method='spawn', progress=False)
    return dict(zip([p.rel for p in site.pages], res))

def build_site(path=None,                # a folder inside the project (default: the current one)
               dest=None,                # output folder (default: `doc_path` of settings.ini, `_docs`)
               execute:bool=True,        # execute the notebooks (from the cache when unchanged)
               force:bool=False,         # ignore the cache
               n_workers:int|None=None,  # processes executing notebooks (default: CPU count)
               quiet:bool=False) -> Path: # do not list the pages written
    "Build the static documentation site from the notebooks: execute, process with nbdev, render with pandoc."
    site = Site(path)
    dest = Path(dest) if dest else Path(site.cfg.doc_path)
    for p in site.unlisted:
        warnings.warn(f"{p.rel} is in no sidebar section of _quarto.yml: number it by the rule in nbs/80_docs.ipynb.")
    nbs = process_all(site, execute=execute, force=force, n_workers=n_workers)
    if dest.exists(): shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest/'site.css').write_text(SITE_CSS, encoding='utf-8')
    (dest/'highlight.css').write_text(highlight_css(), encoding='utf-8')
    if site.css and (site.nbs/site.css).exists(): shutil.copy2(site.nbs/site.css, dest/site.css)
    (dest/'.nojekyll').touch()
    for p in site.pages:
        render_page(site, p, nbs[p.rel], dest)
        if not quiet: print(f"{p.rel} → {dest/p.href}")
    return dest

# ## README
#
# `README.md` is the landing notebook (`readme_nb`, `index.ipynb`) executed, processed and written as GitHub markdown;
# its images go to `index_files/figure-commonmark/`, as with `nbdev_readme`. The output depends only on the notebook
# and the library, so `tests/test_readme.py` regenerates it and fails when the committed one is stale.

def readme_md(path=None, execute:bool=True, force:bool=False, files_root:Path|None=None) -> str:
    "The text of `README.md` rendered from `readme_nb`; images are written under `files_root` (default: the project root)."
    site = Site(path)
    nbp = site.nbs/site.cfg.get('readme_nb', 'index.ipynb')
    page = next(p for p in site.pages if p.path == nbp)
    with working_directory(site.root): nb = process_nb(nbp, execute=execute, force=force)
    files = f"{nbp.stem}_files/figure-commonmark"
    root = Path(files_root or site.root)
    if (root/files).exists(): shutil.rmtree(root/files)
    meta, md = nb2md(nb, root/files, files, 'gfm')
    nbs_rel = os.path.relpath(site.nbs, site.root).replace(os.sep, '/')
    fcfg = {'links': {Path(p.rel).name: p.href for p in site.pages}, 'site_url': site.site_url, 'root': '',
            'gfm': True, 'res_prefix': '' if nbs_rel == '.' else nbs_rel + '/', 'own_prefix': files}
    body = run_pandoc(md, 'gfm', fcfg, ['--wrap=preserve'], reader='markdown-yaml_metadata_block-smart-implicit_figures')
    head = f"# {meta.get('title', page.title)}\n\n<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->\n\n"
    if meta.get('description'): head += f"> {meta['description']}\n\n"
    body = body.replace('<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->\n\n', '')
    return head + body

def write_readme(path=None, execute:bool=True, force:bool=False) -> Path:
    "Write `README.md` (and `index_files/`) from the landing notebook, executed, as GitHub markdown."
    site = Site(path)
    out = site.root/'README.md'
    out.write_text(readme_md(path, execute=execute, force=force), encoding='utf-8')
    return out

def _is_jit_warning(o) -> bool:
    "Whether output `o` is only torch's `torch.jit.script` deprecation warning (printed on importing fastai, with a local path)."
    text = ''.join(o.get('text', '')) if o.get('output_type') == 'stream' and o.get('name') == 'stderr' else ''
    return bool(text) and all('torch.jit.script` is deprecated' in l or l.strip() == 'warnings.warn(' for l in text.splitlines())

def save_outputs(path=None, pattern:str='*.ipynb') -> list[Path]:
    "Execute the notebooks of `nbs_path` matching `pattern` in place and save the outputs of their visible cells (flagged cells skipped, as in `nbdev_test`)."
    cfg = get_config(path=path)
    done = []
    for p in notebooks(cfg.nbs_path):
        if not fnmatch.fnmatch(p.name, pattern) or str(frontmatter(p).get('skip_exec', '')).lower() in ('true', '1', 'yes'): continue
        nb = execute_nb(read_nb(p), p, skip_flags(cfg))
        for c in nb.cells:             # hidden cells are tests: their prints (temporary paths, timings) are not kept
            if c.cell_type != 'code': continue
            if 'hide' in extract_directives(c, remove=False): c.outputs = []
            c.outputs = [o for o in c.outputs if not _is_jit_warning(o)]
        write_nb(nb, p); done.append(p)
        print(f"executed {p.relative_to(cfg.config_path)}")
    return done

# ## Command line

def main(argv:list[str]|None=None):
    "`python tools/dihcl_docs.py site|readme [options]`: build the site into `_docs/`, or write `README.md`."
    ap = argparse.ArgumentParser(prog='python tools/dihcl_docs.py', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    for name, help in [('site', "build the documentation site into `doc_path` (`_docs/`) with pandoc (no Quarto needed)"),
                       ('readme', "write README.md (and index_files/) from the landing notebook, executed"),
                       ('outputs', "execute the notebooks in place and save their outputs (then run nbdev_clean)")]:
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument('--path', default=None, help="a folder inside the project (default: the current one)")
        sp.add_argument('--no_exec', action='store_true', help="render the saved outputs only, without executing")
        sp.add_argument('--force', action='store_true', help="re-execute even if the cache is current")
        if name == 'outputs': sp.add_argument('--pattern', default='*.ipynb', help="which notebooks (a glob on the file name)")
        if name == 'site':
            sp.add_argument('--dest', default=None, help="output folder (default: `doc_path` of settings.ini, `_docs`)")
            sp.add_argument('--n_workers', type=int, default=None, help="processes executing notebooks (default: CPU count)")
    a = ap.parse_args(argv)
    if a.cmd == 'site': build_site(a.path, a.dest, execute=not a.no_exec, force=a.force, n_workers=a.n_workers)
    elif a.cmd == 'outputs': save_outputs(a.path, a.pattern)
    else: print(write_readme(a.path, execute=not a.no_exec, force=a.force))

if __name__ == '__main__':   # run as `python tools/dihcl_docs.py`: through the module, so that the spawned workers
    import sys                # of the site build can unpickle its functions (they cannot from `__main__`)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import dihcl_docs
    dihcl_docs.main()
