"""The documentation site in a real browser: build it with `tools/dihcl_docs.py` (pandoc), serve it on 127.0.0.1 and
drive headless Chromium through Playwright. Set `DIHCL_SITE=folder` to test a prebuilt site, `CHROMIUM=path` for another
browser binary. Screenshots go to `tests/artifacts/`."""
import functools, http.server, importlib, inspect, json, os, re, shutil, sys, threading
from pathlib import Path
from urllib.parse import urldefrag, urlparse, unquote
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from dihcl_docs import Site, build_site, tree_hrefs   # the development tool tools/dihcl_docs.py, not part of the package
ARTIFACTS = Path(__file__).resolve().parent/'artifacts'
CHROMIUM = os.environ.get('CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']
SITE = Site(ROOT)
PAGES = {p.href: p for p in SITE.pages}
CALLBACK_NBS = sorted(SITE.nbs.glob('*callback*.ipynb'))

def _require(ok, why):
    "Skip on a developer machine without a browser; in CI (`CI` set) a missing browser is a failure."
    if ok: return
    if os.environ.get('CI'): pytest.fail(why)
    pytest.skip(why)

@pytest.fixture(scope='module')
def site_dir(tmp_path_factory):
    if os.environ.get('DIHCL_SITE'): return Path(os.environ['DIHCL_SITE'])
    return build_site(ROOT, dest=tmp_path_factory.mktemp('site'), quiet=True)

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass

@pytest.fixture(scope='module')
def base_url(site_dir):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(site_dir)))
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{srv.server_port}/'
    srv.shutdown(); srv.server_close()

@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    try: from playwright.sync_api import sync_playwright
    except ImportError: _require(False, "playwright is not installed (pip install playwright)")
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp('chromium-profile')), headless=True,
                                                   executable_path=CHROMIUM, args=ARGS, viewport={'width': 1280, 'height': 900})
        yield ctx
        ctx.close()

_fetched = {}
def _fetch(ctx, url):
    "Status and text of a same-origin `url`, fetched once."
    if url not in _fetched:
        r = ctx.request.get(url)
        _fetched[url] = (r.status, r.text() if r.ok and 'html' in r.headers.get('content-type', '') else '')
    return _fetched[url]

def _open(browser, url):
    "Open `url`, recording console errors, page errors and failed or 4xx/5xx requests."
    pg, errors = browser.new_page(), []
    pg.on('console', lambda m: errors.append(f'console {m.type}: {m.text}') if m.type == 'error' else None)
    pg.on('pageerror', lambda e: errors.append(f'page error: {e}'))
    pg.on('requestfailed', lambda r: errors.append(f'request failed: {r.url} {r.failure}'))
    pg.on('response', lambda r: errors.append(f'HTTP {r.status}: {r.url}') if r.status >= 400 else None)
    resp = pg.goto(url, wait_until='load')
    assert resp is not None and resp.status == 200, f"{url}: HTTP {resp and resp.status}"
    return pg, errors

def _nb_json(page): return json.loads(page.path.read_text(encoding='utf-8'))

def _has_math(page):
    "Does a markdown cell of the notebook hold `$...$` math (outside code spans)?"
    for c in _nb_json(page)['cells']:
        if c['cell_type'] != 'markdown': continue
        src = re.sub(r'`[^`]*`', '', ''.join(c['source']))
        if re.search(r'\$[^$\s][^$]*\$', src): return True
    return False

def _module(page):
    "The module a notebook exports to (`#| default_exp`), imported, or None."
    for c in _nb_json(page)['cells']:
        m = re.search(r'^\s*#\|\s*default_exp\s+(\S+)', ''.join(c['source']), flags=re.M) if c['cell_type'] == 'code' else None
        if m: return importlib.import_module(f"{SITE.cfg.lib_name}.{m.group(1)}")

def _api_names(mod):
    "Public classes and functions the module defines (those nbdev documents with `show_doc`)."
    return [n for n in getattr(mod, '__all__', []) if (inspect.isclass(getattr(mod, n, None)) or inspect.isfunction(getattr(mod, n, None)))
            and getattr(getattr(mod, n), '__module__', None) == mod.__name__]

def _params(obj):
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return []
    return [p for p in sig.parameters if p not in ('self', 'cls')]

def test_every_notebook_is_in_the_sidebar():
    assert not SITE.unlisted, (f"not in any sidebar section of _quarto.yml: {[p.rel for p in SITE.unlisted]}; "
                               "number them by the rule in nbs/80_docs.ipynb")
    assert tree_hrefs(SITE.sidebar)[0] == 'index.html'

@pytest.mark.parametrize('href', sorted(PAGES))
def test_page(browser, base_url, href):
    page = PAGES[href]
    pg, errors = _open(browser, base_url + href)
    try:
        # title
        assert pg.title() == f"{page.title} – {SITE.title}"
        assert pg.inner_text('h1.title').strip() == page.title
        # sidebar: every page of _quarto.yml's sidebar, this one marked
        side = pg.eval_on_selector_all('#sidebar a', 'as => as.map(a => a.getAttribute("href"))')
        root = '../' * (len(Path(href).parts) - 1)
        assert side == [h if re.match(r'^[a-z]+://', h) else root + h for h in tree_hrefs(SITE.sidebar)]
        assert pg.get_attribute('#sidebar a[aria-current="page"]', 'href') == root + Path(href).name or len(Path(href).parts) > 1
        # every same-origin link (sidebar, navbar, toc, content) resolves, and its #fragment exists
        links = pg.eval_on_selector_all('a[href]', 'as => as.map(a => a.href)')
        bad = []
        for url in sorted(set(links)):
            if not url.startswith(base_url): continue
            doc, frag = urldefrag(url)
            status, text = _fetch(browser, doc)
            if status != 200: bad.append(f"{url}: HTTP {status}"); continue
            if frag and doc.endswith('.html') and not re.search(rf'''\bid=["']{re.escape(unquote(frag))}["']''', text):
                bad.append(f"{url}: no element #{frag}")
        assert not bad, f"broken links on {href}:\n" + '\n'.join(bad)
        # every image loads
        imgs = pg.eval_on_selector_all('img', 'is => is.map(i => [i.getAttribute("src"), i.complete && i.naturalWidth > 0])')
        assert all(ok for _, ok in imgs), f"images that did not load on {href}: {[s for s, ok in imgs if not ok]}"
        # math rendered as MathML, nothing left as raw TeX
        n_math = pg.eval_on_selector_all('math', 'ms => ms.filter(m => m.getBoundingClientRect().width > 0).length')
        if _has_math(page): assert n_math > 0, f"{href}: the notebook has $...$ math but the page has no rendered MathML"
        assert pg.locator('span.math').count() == 0, f"{href}: math pandoc could not convert"
        # API pages: a show_doc entry for every public class and function, naming its parameters
        mod = _module(page)
        if mod is not None:
            for name in _api_names(mod):
                sec = pg.locator(f'section[id="{name.lower()}"]')
                assert sec.count() == 1, f"{href}: no show_doc entry for {mod.__name__}.{name}"
                txt = sec.inner_text()
                missing = [p for p in _params(getattr(mod, name)) if p not in txt]
                assert not missing, f"{href}: the entry for {name} does not show parameters {missing}"
            assert pg.locator('.cell-output').count() > 0, f"{href}: an API page needs an example with output"
        assert not errors, f"errors in the browser on {href}:\n" + '\n'.join(errors)
    finally: pg.close()

def test_landing_page(browser, base_url):
    pg, errors = _open(browser, base_url + 'index.html')
    try:
        assert pg.inner_text('h1.title').strip()
        assert pg.locator('main p').count() > 0, ("the landing page has no paragraph of prose: are index.ipynb's markdown "
                                                  "lines all headings (a percent-format '# ' prefix left in)?")
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS/'landing.png'), full_page=True)
        assert not errors, '\n'.join(errors)
    finally: pg.close()

@pytest.mark.skipif(not CALLBACK_NBS, reason="no nbs/*callback*.ipynb yet")
def test_callback_page(browser, base_url):
    page = next(p for p in SITE.pages if p.path == CALLBACK_NBS[0])
    mod = _module(page)
    assert mod is not None and hasattr(mod, 'DIHCallback'), f"{page.rel} does not export DIHCallback"
    pg, errors = _open(browser, base_url + page.href)
    try:
        sec = pg.locator('section[id="dihcallback"]')
        assert sec.count() == 1, "no show_doc entry for DIHCallback"
        assert 'DIHCallback' in sec.locator('h2, h3, h4').first.inner_text()
        sig = sec.locator('pre').first.inner_text()  # show_doc's signature, parameters one a line with their comments
        params = _params(mod.DIHCallback)
        assert params and not [p for p in params if p not in sig], f"DIHCallback's signature lacks parameters: {params}"
        assert '#' in sig, "DIHCallback's parameters are not documented inline (docments)"
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS/'callback.png'), full_page=True)
        assert not errors, '\n'.join(errors)
    finally: pg.close()
