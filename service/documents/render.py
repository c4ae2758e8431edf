"""HTML → PDF with WeasyPrint, off the event loop.

- Templates: Jinja2 (`service/documents/templates/`), print CSS in `static/print.css`.
- Fonts: Noto Sans and Noto Serif (Debian's `fonts-noto-core`), found by fontconfig and embedded
  (subset) in every PDF; they cover Kyrgyz letters (ң ө ү) and Russian.
- `StaticOnlyFetcher`: the only resources a document may load are `data:` URIs (the charts) and
  files inside `static/`; no network, no other `file://` path.
- `RenderPool`: a bounded pool of worker processes (WeasyPrint holds the GIL for the whole render;
  a thread would stall the event loop, measured in docs/performance.md) with a bounded queue:
  when `max_pending` renders are already waiting or running, `submit` raises `RendererBusy`
  (503 with Retry-After) instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import multiprocessing
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from service.problems import ProblemError

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


class RendererBusy(ProblemError):
    status = 503
    slug = "documents-busy"
    title = "Too many documents are being made"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many documents are being made right now; try again in {retry_after} seconds"
        )
        self.headers["Retry-After"] = str(retry_after)


@lru_cache(maxsize=1)
def _fetcher_class() -> type:
    """Made once per process: a class made per render is kept alive by WeasyPrint's caches
    (measured: +11 MB per 40 renders)."""
    from weasyprint.urls import URLFetcher

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint has no type hints
        """`data:` URIs and files below `static/`; anything else is refused (ValueError, which
        WeasyPrint reports as a warning and renders without the resource)."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("file:"):
                from urllib.parse import unquote, urlsplit

                path = Path(unquote(urlsplit(url).path)).resolve()
                if not path.is_relative_to(STATIC):
                    raise ValueError(f"outside the documents' static files: {url}")
            elif not url.startswith("data:"):
                raise ValueError(f"documents load no network resource: {url}")
            return super().fetch(url, headers)

    return StaticOnlyFetcher


def static_only_fetcher() -> Any:
    """A fetcher instance (a class made on first use: weasyprint is imported lazily)."""
    return _fetcher_class()()


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)


@lru_cache(maxsize=1)
def _font_config() -> Any:
    """One font configuration per process: WeasyPrint makes a new one for each document
    otherwise, and memory grew by ~18 MB every 40 letters (bench/bench_documents.py); shared,
    by none. The workers render one document at a time."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    """Render in this process (the pool's workers call it). Charts in `context["charts"]`
    (name → spec) are drawn here, in the worker, as SVG data URIs."""
    from weasyprint import HTML

    from service.documents.charts import draw
    from service.documents.texts import translator

    charts = {name: draw(spec) for name, spec in context.get("charts", {}).items()}
    lang = context.get("lang", "en")
    html = render_html(template, {**context, "charts": charts, "t": translator(lang)})
    pdf: bytes = HTML(
        string=html, base_url=STATIC.as_uri() + "/", url_fetcher=static_only_fetcher()
    ).write_pdf(font_config=_font_config())
    return pdf


def _warm() -> None:
    """Import WeasyPrint and load the fonts once per worker process."""
    render_pdf("warm.html", {})


class RenderPool:
    """`workers` processes; at most `max_pending` renders waiting or running at once."""

    def __init__(self, workers: int = 2, max_pending: int = 16, retry_after: int = 5) -> None:
        self.workers = workers
        self.max_pending = max_pending
        self.retry_after = retry_after
        self._pending = 0
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: never fork a process that runs an event loop and threads
            context = multiprocessing.get_context("forkserver")
            self._executor = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_warm
            )
        return self._executor

    async def warm(self) -> set[int]:
        """Start every worker now rather than at the first document: each imports WeasyPrint
        and loads the fonts (`_warm`), which made the first PDF after start-up take 2.5–3.4 s
        instead of 0.2–0.3 s. A worker is started per task submitted while none is idle, so
        one small task per worker starts them all (the first worker ready may answer them
        all). Returns the pids of the pool's processes."""
        loop = asyncio.get_running_loop()
        pool = self._pool()
        await asyncio.gather(*(loop.run_in_executor(pool, os.getpid) for _ in range(self.workers)))
        return set(pool._processes)  # the executor has no public list of its processes

    @property
    def pending(self) -> int:
        return self._pending

    async def render(self, template: str, context: dict[str, Any]) -> bytes:
        if self._pending >= self.max_pending:
            raise RendererBusy(self.retry_after)
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool(), render_pdf, template, context)
        finally:
            self._pending -= 1

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


_default: RenderPool | None = None


def default_pool() -> RenderPool:
    """The process's pool (the API's and the in-process job worker's renders share it)."""
    global _default
    if _default is None:
        workers = int(os.environ.get("GRANTS_DOCUMENT_WORKERS", "2"))
        _default = RenderPool(workers=max(1, workers))
        atexit.register(_default.shutdown)  # the workers end before the interpreter does
    return _default
