"""Crawl the web frontend as every demo role in every language, at desktop and phone width.

    .venv/bin/python tools/crawl.py [--roles public,applicant,...] [--langs en,ru,ky]
                                    [--max-pages 80] [--per-pattern 3] [--no-phone-axe]
                                    [--start /transparency,...] [--no-follow]
                                    [--base-url http://… --login ROLE=EMAIL ...]
                                    [--json out.json]

Starts `grants serve --demo` (embedded PostgreSQL in a temporary GRANTS_DATA_DIR, a free port;
its printed logins; or uses `--base-url`, a site already serving the demo, with `--login`), then
for the signed-out public and one demo login per role (of the applicants, one with a grant), for
each language (the header's switcher), walks same-origin GET links (`a[href]`; not sign-out, the
API, static files) breadth-first in Debian's Chromium: at most `--per-pattern` pages of one path
pattern (UUIDs and numbers replaced by placeholders, query keys kept) and `--max-pages` pages per
role and language. Downloads (PDF, CSV, XLSX, attachments) are fetched, not rendered. Each page
is loaded at 1280 px, then the same page is laid out again at 360 px. Recorded per page:

- http: the page's or any of its requests' status ≥ 400 (403/404 too: a link its reader may
  not follow), failed requests;
- console: console errors and uncaught exceptions; csp: `securitypolicyviolation` events and
  Content-Security-Policy console messages;
- axe: serious or critical violations (rule id, targets), at both widths (`--no-phone-axe`:
  desktop only);
- overflow: at 360 px `scrollWidth > innerWidth`, with the first overflowing element of each
  branch; cards-scroll: a stacked table shown as cards whose region scrolls sideways; clipped:
  a box with `overflow: hidden` cutting its content; chart-text: a chart's label cut at the
  drawing's edge or over another (`LAYOUT_SCRIPT`, which tests/web's check_page uses too);
- untranslated: on ru/ky pages, visible text (or placeholder/aria-label/title/alt) that is an
  English message of the catalogue (web/locale/*/messages.po);
- lang: `<html lang>` differs from the language asked for;
- slow: the document took more than `--slow` seconds (server response or load event);
- hints, to read before fixing: latin (ru/ky text of Latin words alone, outside any element
  marked with another `lang`: mostly demo data written in one language) and hscroll (a region
  that scrolls sideways at 360 px: the design for a wide table).

Screenshots at 360 px go to `--screenshots` (default .grants/crawl/). It is a tool, not a test:
a full run takes about fifteen minutes. Exit status 1 when anything but the hints was found.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import httpx
from axe_playwright_python.sync_playwright import Axe
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from service.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = 1280
PHONE = 360
LANGS = ("en", "ru", "ky")
ROLE_ORDER = (
    "public",
    "applicant",
    "reviewer",
    "programme_officer",
    "finance_officer",
    "auditor",
    "admin",
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
LOGIN_LINE = re.compile(r"^\s+(\S+@\S+)\s+(\w+)")
# links never followed: they sign out, leave the web app, or fetch static files
SKIP_PREFIXES = ("/signout", "/api/", "/api", "/static/", "/health/", "/metrics")
SKIP_WORDS = re.compile(r"/(signout|logout|delete|revoke|disable)\b", re.I)
DOWNLOAD = re.compile(r"\.(pdf|csv|xlsx|json|xml|zip)$|/export/|/attachments/", re.I)
LATIN_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")

INIT_SCRIPT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'}` +
                    (e.sourceFile ? ` at ${e.sourceFile}:${e.lineNumber}` : ''));
});
"""

LAYOUT_SCRIPT = """
() => {
  const width = window.innerWidth;
  const doc = document.documentElement;
  const name = e => {
    let s = e.tagName.toLowerCase();
    if (e.id) s += '#' + e.id;
    else if (e.classList.length) s += '.' + [...e.classList].slice(0, 2).join('.');
    return s;
  };
  const path = e => {
    const parts = [];
    for (let n = e; n && n !== document.body && parts.length < 4; n = n.parentElement)
      parts.unshift(name(n));
    return parts.join(' > ');
  };
  const clips = o => o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip';
  const inClip = e => {
    for (let n = e.parentElement; n && n !== document.body; n = n.parentElement)
      if (clips(getComputedStyle(n).overflowX)) return true;
    return false;
  };
  const hidden = e => e.closest('.visually-hidden, [hidden], .skip-link');
  // what sticks out of a box furthest (an element, or a text: its element named), leaving
  // out what is hidden in a 1-pixel box (visually hidden table headings)
  const unseen = e => {
    for (let n = e; n && n !== document.body; n = n.parentElement)
      if (n.getBoundingClientRect().width <= 1) return true;
    return false;
  };
  const culprit = box => {
    let worst = null, right = box.getBoundingClientRect().right + 1;
    for (const e of box.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.width > 0 && r.right > right && !unseen(e)) { worst = e; right = r.right; }
    }
    const texts = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let n = texts.nextNode(); n; n = texts.nextNode()) {
      range.selectNodeContents(n);
      const r = range.getBoundingClientRect();
      if (r.width > 0 && r.right > right && !unseen(n.parentElement)) {
        worst = n.parentElement; right = r.right;
      }
    }
    return worst ? `${path(worst)} "${(worst.textContent || '').trim().slice(0, 30)}"` : '';
  };
  const out = {overflow: null, scrolls: [], clipped: [], chart: []};
  if (doc.scrollWidth > width) {
    const found = [];
    for (const e of document.body.querySelectorAll('*')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 1 || inClip(e)) continue;
      const p = e.parentElement;
      if (p && p !== document.body && p.getBoundingClientRect().right > width + 1) continue;
      found.push(`${path(e)} (right ${Math.round(r.right)})`);
      if (found.length >= 4) break;
    }
    out.overflow = `scrollWidth ${doc.scrollWidth}: ${found.join('; ') || '(no single element)'}`;
  }
  for (const e of document.body.querySelectorAll('*')) {
    if (e.clientWidth <= 1 || e.scrollWidth <= e.clientWidth + 1 || hidden(e)) continue;
    if (e.matches('input, textarea, select')) continue;  // a field scrolls its own text
    const style = getComputedStyle(e);
    if (!clips(style.overflowX) || style.textOverflow === 'ellipsis') continue;
    const by = e.scrollWidth - e.clientWidth;
    if (style.overflowX === 'auto' || style.overflowX === 'scroll') {
      // a stacked table shown as cards (a block, not a table: on a phone) must not scroll
      const table = e.querySelector('table.stack, table.row-cards');
      const cards = table && getComputedStyle(table).display === 'block' ? 'cards ' : '';
      out.scrolls.push(`${cards}${path(e)} scrolls ${by}px: ${culprit(e)}`);
    } else {
      out.clipped.push(`${path(e)} clips ${by}px: ${culprit(e)}`);
    }
  }
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;
    const texts = [...svg.querySelectorAll('text')]
      .map(t => [t, t.getBoundingClientRect()])
      .filter(([t, r]) => r.width > 0 && t.textContent.trim());
    for (const [t, r] of texts) {
      if (r.left < box.left - 1 || r.right > box.right + 1)
        out.chart.push(`${path(svg)}: "${t.textContent.trim()}" cut at the edge`);
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const [a, ra] = texts[i], [b, rb] = texts[j];
      const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (x > 1 && y > 1)
        out.chart.push(
          `${path(svg)}: "${a.textContent.trim()}" overlaps "${b.textContent.trim()}"`);
    }
  }
  return out;
}
"""

TEXTS_SCRIPT = """
() => {
  const out = [];
  const skip = e =>
    e.closest('code, pre, script, style, [translate=no], .language, [lang]:not(html)');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent.replace(/\\s+/g, ' ').trim();
    if (!t || !n.parentElement || skip(n.parentElement)) continue;
    const r = n.parentElement.getBoundingClientRect();
    const visible = n.parentElement.checkVisibility ? n.parentElement.checkVisibility() : true;
    if (!visible && !n.parentElement.closest('.visually-hidden')) continue;
    out.push(t);
  }
  for (const e of document.body.querySelectorAll('[placeholder],[aria-label],[title],img[alt]')) {
    if (skip(e)) continue;
    for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
      const v = (e.getAttribute(a) || '').trim();
      if (v) out.push(v);
    }
  }
  return out;
}
"""


@dataclass
class Finding:
    kind: str  # one of KIND_ORDER
    detail: str  # what, grouped on
    role: str
    lang: str
    width: int
    url: str


@dataclass
class Crawl:
    base: str
    roles: list[str]
    langs: list[str]
    max_pages: int
    per_pattern: int
    phone_axe: bool
    slow: float
    screenshots: Path
    follow: bool = True
    findings: list[Finding] = field(default_factory=list)
    pages: dict[str, int] = field(default_factory=dict)  # "role/lang": pages visited
    visited: dict[str, list[str]] = field(default_factory=dict)  # "role/lang": paths
    seconds: dict[str, float] = field(default_factory=dict)


# --- the server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def demo_server() -> Iterator[tuple[str, dict[str, list[str]]]]:
    """`grants serve --demo` on a free port over a data folder of its own; its base URL and the
    demo's logins by role."""
    data = Path(tempfile.mkdtemp(prefix="grants-crawl-"))
    port = free_port()
    grants = Path(sys.executable).parent / "grants"
    env = {**os.environ, "GRANTS_DATA_DIR": str(data)}
    env.pop("GRANTS_DATABASE_URL", None)
    proc = subprocess.Popen(  # noqa: S603  # our own `grants` command, fixed arguments
        [str(grants), "serve", "--demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    logins: dict[str, list[str]] = defaultdict(list)
    log: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)
            found = LOGIN_LINE.match(line)
            if found:
                logins[found.group(2)].append(found.group(1))
            if line.startswith("pcc-grants on http"):
                break
        else:
            raise RuntimeError("grants serve --demo stopped:\n" + "".join(log))
        # keep reading its output (warnings, tracebacks) so that the pipe never fills
        threading.Thread(target=_drain, args=(proc, log), daemon=True).start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start:\n" + "".join(log))
            time.sleep(0.2)
        yield base, logins
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server_errors = [line for line in log if "Traceback" in line or "ERROR" in line]
        if server_errors:
            print(f"server log: {len(server_errors)} error lines (first: {server_errors[0]!r})")
        shutil.rmtree(data, ignore_errors=True)


def _drain(proc: subprocess.Popen[str], log: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line)


# --- what a page is ------------------------------------------------------------------------------


def pattern(url: str) -> str:
    """The path with UUIDs and numbers replaced, and the query's keys (not their values)."""
    parts = urlsplit(url)
    segments = ["{n}" if s.isdigit() else UUID.sub("{id}", s) for s in parts.path.split("/")]
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return "/".join(segments) + ("?" + "&".join(keys) if keys else "")


def followable(base: str, url: str) -> str | None:
    """The link without its fragment, if the crawl should visit it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != urlsplit(base).netloc:
        return None
    if parts.path.startswith(SKIP_PREFIXES) or SKIP_WORDS.search(parts.path):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def catalogue() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The English messages translated in each language, and those not translated there."""
    translated: dict[str, set[str]] = {}
    missing: dict[str, set[str]] = {}
    for lang in ("ru", "ky"):
        po = ROOT / "web" / "locale" / lang / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as fh:
            cat = read_po(fh, locale=lang)
        done: set[str] = set()
        todo: set[str] = set()
        for message in cat:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            strings = (
                message.string if isinstance(message.string, tuple | list) else (message.string,)
            )
            for mid in ids:
                if "%(" in mid or len(mid) < 4 or not LATIN_WORD.search(mid):
                    continue
                text = " ".join(mid.split())
                if any(s and s != mid for s in strings):
                    done.add(text)
                else:
                    todo.add(text)
        translated[lang], missing[lang] = done, todo
    return translated, missing


# --- the crawl -----------------------------------------------------------------------------------


def sign_in(browser: Browser, base: str, email: str) -> Any:
    context = browser.new_context(viewport={"width": DESKTOP, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main form[action='/signin'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/signin" in page.url:
        raise RuntimeError(f"{email} could not sign in: {page.inner_text('main')[:300]}")
    home = page.url
    state = context.storage_state()
    context.close()
    return state, home


def crawl_one(
    run: Crawl,
    browser: Browser,
    role: str,
    lang: str,
    state: Any,
    start: list[str],
    messages: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    context: BrowserContext = browser.new_context(
        viewport={"width": DESKTOP, "height": 800},
        locale=lang,
        extra_http_headers={"Accept-Language": lang},
        storage_state=state,
    )
    context.add_init_script(INIT_SCRIPT)
    page: Page = context.new_page()
    current: dict[str, Any] = {"url": "", "width": DESKTOP, "statuses": [], "console": []}

    def record(kind: str, detail: str, width: int | None = None, url: str | None = None) -> None:
        run.findings.append(
            Finding(
                kind,
                detail,
                role,
                lang,
                width if width is not None else current["width"],
                url or current["url"],
            )
        )

    def on_response(response: Any) -> None:
        if response.status >= 400:
            current["statuses"].append((response.status, response.url, response.request.method))

    def on_console(message: Any) -> None:
        if message.type == "error":
            current["console"].append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: current["console"].append(f"uncaught: {exc}"))
    page.on(
        "requestfailed",
        lambda r: current["console"].append(f"request failed: {r.method} {r.url} {r.failure}"),
    )

    # the language: the switcher in the header (it is kept in the session)
    page.goto(f"{run.base}/")
    page.click(f"form.language button[value={lang}]")
    page.wait_for_load_state("networkidle")

    queue: deque[str] = deque(start)
    seen: set[str] = set(start)
    per_pattern: dict[str, int] = defaultdict(int)
    for url in start:
        per_pattern[pattern(url)] += 1
    visited = 0
    t_start = time.monotonic()
    tag = f"{role}/{lang}"
    while queue and visited < run.max_pages:
        url = queue.popleft()
        visited += 1
        short = url.removeprefix(run.base) or "/"
        current.update(url=short, width=DESKTOP, statuses=[], console=[])
        run.visited.setdefault(tag, []).append(short)
        page.set_viewport_size({"width": DESKTOP, "height": 800})
        if DOWNLOAD.search(urlsplit(url).path):
            began = time.monotonic()
            resp = context.request.get(url, timeout=60_000)
            took = time.monotonic() - began
            if resp.status >= 400:
                record("http", f"{resp.status} GET (download)")
            if took > run.slow:
                record("slow", f"download {took:.1f}s")
            continue
        began = time.monotonic()
        try:
            response = page.goto(url, wait_until="load", timeout=60_000)
        except PlaywrightError as exc:
            if "Download is starting" in str(exc):
                resp = context.request.get(url, timeout=60_000)
                if resp.status >= 400:
                    record("http", f"{resp.status} GET (download)")
                continue
            record("http", f"navigation failed: {str(exc).splitlines()[0]}")
            continue
        loaded = time.monotonic() - began
        with contextlib.suppress(PlaywrightError):
            page.wait_for_load_state("networkidle", timeout=10_000)
        if response is not None and "html" not in (response.headers.get("content-type") or ""):
            if response.status >= 400:
                record("http", f"{response.status} GET ({response.headers.get('content-type')})")
            continue
        timing = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? n.responseEnd - n.requestStart : 0; }"
        )
        if timing / 1000 > run.slow or loaded > run.slow:
            record("slow", f"response {timing / 1000:.1f}s, load {loaded:.1f}s")
        actual_lang = page.get_attribute("html", "lang")
        if actual_lang != lang:
            record("lang", f"<html lang={actual_lang}>")
        for status, where, method in current["statuses"]:
            what = "page" if where == url or where.removeprefix(run.base) == short else "request"
            record("http", f"{status} {method} {what} {where.removeprefix(run.base)}")
        check_page(run, page, record, DESKTOP)
        layout(page, record, DESKTOP)
        if lang != "en":
            untranslated(page, lang, messages, record)
        # the same page laid out at phone width
        current["width"] = PHONE
        page.set_viewport_size({"width": PHONE, "height": 800})
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(null)))")
        layout(page, record, PHONE)
        if run.phone_axe:
            check_page(run, page, record, PHONE)
        name = re.sub(r"[^A-Za-z0-9]+", "_", pattern(short)).strip("_") or "home"
        with contextlib.suppress(PlaywrightError):
            page.screenshot(
                path=str(run.screenshots / f"{role}-{lang}-{name}-{PHONE}.png"),
                full_page=True,
                timeout=30_000,
            )
        for message in current["console"]:
            if message.startswith("Refused to") or "Content Security Policy" in message:
                record("csp", message[:200])
            elif message.startswith("Failed to load resource"):
                continue  # its status is recorded as http
            else:
                record("console", message[:200])
        for violation in page.evaluate("() => window.__csp || []"):
            record("csp", violation)
        # the links
        hrefs: list[str] = page.evaluate(
            "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
        )
        for href in hrefs if run.follow else []:
            target = followable(run.base, urljoin(url, href))
            if target is None or target in seen:
                continue
            seen.add(target)
            key = pattern(target)
            if per_pattern[key] >= run.per_pattern:
                continue
            per_pattern[key] += 1
            queue.append(target)
    run.pages[tag] = visited
    run.seconds[tag] = time.monotonic() - t_start
    left = len(queue)
    print(
        f"{tag}: {visited} pages in {run.seconds[tag]:.0f}s"
        + (f" ({left} more queued, cap reached)" if left else ""),
        flush=True,
    )
    context.close()


def layout(page: Page, record: Any, width: int) -> None:
    """Page overflow (phone width only), regions that scroll sideways (phone width only: at the
    desktop a wide table in its scroll region is the design), clipped content and chart labels
    that overlap or are cut."""
    found = page.evaluate(LAYOUT_SCRIPT)
    if width == PHONE and found["overflow"]:
        record("overflow", found["overflow"], width)
    for item in found["scrolls"]:
        if item.startswith("cards "):
            record("cards-scroll", item.removeprefix("cards "), width)
        elif width == PHONE:
            record("hscroll", item, width)
    for item in found["clipped"]:
        record("clipped", item, width)
    for item in found["chart"]:
        record("chart-text", item, width)


def check_page(run: Crawl, page: Page, record: Any, width: int) -> None:
    try:
        results = Axe().run(page)
    except PlaywrightError as exc:
        record("axe", f"axe failed: {str(exc).splitlines()[0]}", width)
        return
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )
    for v in results.response["violations"]:
        if v.get("impact") not in {"serious", "critical"}:
            continue
        for node in v.get("nodes", [])[:3]:
            target = " ".join(str(t) for t in node.get("target", []))
            record("axe", f"{v['id']} ({v['impact']}): {target}", width)


def untranslated(
    page: Page, lang: str, messages: tuple[dict[str, set[str]], dict[str, set[str]]], record: Any
) -> None:
    translated, missing = messages[0][lang], messages[1][lang]
    texts: list[str] = page.evaluate(TEXTS_SCRIPT)
    for text in dict.fromkeys(texts):
        if text in translated:
            record("untranslated", f"shown in English: {text[:80]!r}", DESKTOP)
        elif text in missing:
            record(
                "untranslated", f"no {lang} translation in the catalogue: {text[:80]!r}", DESKTOP
            )
        elif (
            not CYRILLIC.search(text)
            and len(LATIN_WORD.findall(text)) >= 2
            and "@" not in text
            and "://" not in text
        ):
            record("latin", f"{text[:80]!r}", DESKTOP)


# --- the report -----------------------------------------------------------------------------------

KIND_ORDER = (
    "http",
    "csp",
    "console",
    "axe",
    "overflow",
    "cards-scroll",
    "clipped",
    "chart-text",
    "lang",
    "untranslated",
    "slow",
    "hscroll",
    "latin",
)
HINTS = ("latin", "hscroll")
HINT_GROUPS = 25
"""Kinds reported for a reader to judge: Latin text is mostly demo data in one language, and a
wide table in a region that scrolls sideways is often the design."""


def report(run: Crawl) -> int:
    total = sum(run.pages.values())
    print(
        f"\n== {total} pages; per role/language: "
        + ", ".join(f"{k} {v}" for k, v in run.pages.items())
    )
    by_kind: dict[str, list[Finding]] = defaultdict(list)
    for f in run.findings:
        by_kind[f.kind].append(f)
    if not run.findings:
        print("no findings")
        return 0
    counts = defaultdict(lambda: defaultdict(int))  # type: ignore[var-annotated]  # nested counts
    for f in run.findings:
        counts[f.kind][f"{f.role}/{f.lang}"] += 1
    print("\n== counts by kind (role/lang: findings)")
    for kind in KIND_ORDER:
        if kind in counts:
            per = ", ".join(f"{k} {v}" for k, v in sorted(counts[kind].items()))
            print(f"{kind:13} {sum(counts[kind].values()):5}  {per}")
    for kind in KIND_ORDER:
        items = by_kind.get(kind)
        if not items:
            continue
        print(f"\n== {kind}")
        grouped: dict[str, list[Finding]] = defaultdict(list)
        for f in items:
            grouped[f.detail].append(f)
        ordered = sorted(grouped.items(), key=lambda kv: -len(kv[1]))
        if kind in HINTS and len(ordered) > HINT_GROUPS:
            print(f"  ({len(ordered)} kinds; the {HINT_GROUPS} most frequent, all in --json)")
            ordered = ordered[:HINT_GROUPS]
        for detail, fs in ordered:
            where = sorted({pattern(f.url) for f in fs})
            who = sorted({f"{f.role}/{f.lang}" + ("@360" if f.width == PHONE else "") for f in fs})
            print(f"- {detail}  [{len(fs)}×]")
            print(
                f"    pages: {', '.join(where[:6])}"
                + (f" … (+{len(where) - 6})" if len(where) > 6 else "")
            )
            print(
                f"    who:   {', '.join(who[:8])}"
                + (f" … (+{len(who) - 8})" if len(who) > 8 else "")
            )
    return 1 if any(f.kind not in HINTS for f in run.findings) else 0


def pick_login(browser: Browser, base: str, role: str, emails: list[str]) -> tuple[Any, str]:
    """A signed-in browser state for the role and its home page. Of several logins (the demo's
    applicants), the first whose "My grants" links to a grant: the most pages to see."""
    fallback: tuple[Any, str] | None = None
    for email in emails[:8]:
        state, home = sign_in(browser, base, email)
        if len(emails) == 1:
            return state, home
        context = browser.new_context(storage_state=state)
        page = context.new_page()
        page.goto(f"{base}/grants")
        grants = page.locator("main a[href^='/grants/']").count()
        context.close()
        if grants:
            print(f"{role}: {email} ({grants} grant links)", flush=True)
            return state, home
        fallback = fallback or (state, home)
    if fallback is None:
        raise RuntimeError(f"no login for {role}")
    return fallback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--roles", default=",".join(ROLE_ORDER))
    parser.add_argument("--langs", default=",".join(LANGS))
    parser.add_argument("--max-pages", type=int, default=80)
    parser.add_argument("--per-pattern", type=int, default=3)
    parser.add_argument("--no-phone-axe", action="store_true")
    parser.add_argument("--slow", type=float, default=2.0, help="seconds")
    parser.add_argument("--base-url", help="a site already serving the demo data")
    parser.add_argument(
        "--login",
        action="append",
        default=[],
        metavar="ROLE=EMAIL",
        help="with --base-url: a login of a role (password: the demo's)",
    )
    parser.add_argument(
        "--start", default="", help="comma-separated paths to visit first (e.g. /transparency)"
    )
    parser.add_argument(
        "--no-follow", action="store_true", help="visit the start pages only, follow no link"
    )
    parser.add_argument("--screenshots", type=Path, default=ROOT / ".grants" / "crawl")
    parser.add_argument("--json", type=Path, help="write every finding here")
    args = parser.parse_args(argv)
    roles = [r for r in args.roles.split(",") if r]
    langs = [lang for lang in args.langs.split(",") if lang]
    args.screenshots.mkdir(parents=True, exist_ok=True)
    messages = catalogue()
    with contextlib.ExitStack() as stack:
        logins: dict[str, list[str]] = defaultdict(list)
        if args.base_url:
            base = args.base_url.rstrip("/")
            for item in args.login:
                role, _, email = item.partition("=")
                logins[role].append(email)
        else:
            print("starting grants serve --demo …", flush=True)
            base, logins = stack.enter_context(demo_server())
            print(f"serving {base}", flush=True)
        run = Crawl(
            base,
            roles,
            langs,
            args.max_pages,
            args.per_pattern,
            not args.no_phone_axe,
            args.slow,
            args.screenshots,
            follow=not args.no_follow,
        )
        extra = [f"{base}{path}" for path in args.start.split(",") if path]
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        for role in roles:
            if role == "public":
                state, start = None, [f"{base}/", f"{base}/signin", f"{base}/register"]
                start = list(dict.fromkeys(extra or start))
            else:
                if not logins.get(role):
                    print(f"{role}: no login (have {sorted(logins)})")
                    continue
                state, home = pick_login(browser, base, role, logins[role])
                start = list(dict.fromkeys(extra or [home, f"{base}/", f"{base}/account"]))
            for lang in langs:
                crawl_one(run, browser, role, lang, state, start, messages)
    if args.json:
        found = {"findings": [asdict(f) for f in run.findings], "visited": run.visited}
        args.json.write_text(json.dumps(found, indent=1, ensure_ascii=False))
    return report(run)


if __name__ == "__main__":
    sys.exit(main())
