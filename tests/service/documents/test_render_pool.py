"""The render pool: renders run in worker processes, never on the event loop, and a full queue
refuses at once with 503 and Retry-After instead of queueing without end."""

from __future__ import annotations

import asyncio
import os

import pytest

from service.documents.render import RendererBusy, RenderPool
from service.problems import ProblemError


async def test_a_full_queue_refuses_with_503_and_retry_after() -> None:
    pool = RenderPool(workers=1, max_pending=2, retry_after=7)
    try:
        first = asyncio.create_task(pool.render("warm.html", {}))
        second = asyncio.create_task(pool.render("warm.html", {}))
        await asyncio.sleep(0)  # both are now pending
        assert pool.pending == 2
        with pytest.raises(RendererBusy) as busy:
            await pool.render("warm.html", {})
        assert isinstance(busy.value, ProblemError)
        assert busy.value.status == 503
        assert busy.value.headers == {"Retry-After": "7"}
        pdfs = await asyncio.gather(first, second)
        assert all(pdf.startswith(b"%PDF") for pdf in pdfs)
        assert pool.pending == 0
        assert (await pool.render("warm.html", {})).startswith(b"%PDF")  # room again
    finally:
        pool.shutdown()


async def test_the_event_loop_keeps_running_while_a_document_renders() -> None:
    pool = RenderPool(workers=1, max_pending=4)
    try:
        await pool.render("warm.html", {})  # the worker process is up
        # The render is handed to the other process and the loop goes on at once: two turns of
        # the loop later the render is still running (a render done on the loop itself would
        # have finished inside the first turn, blocking everything else meanwhile). No timing.
        render = asyncio.create_task(pool.render("warm.html", {}))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not render.done()
        pdf = await render
        assert pdf.startswith(b"%PDF")
    finally:
        pool.shutdown()


async def test_warming_starts_every_worker_before_the_first_document() -> None:
    """`grants serve` warms the pool at start-up (service/maintenance.py): each worker process
    is started then, WeasyPrint and the fonts loaded, instead of at the first document."""
    pool = RenderPool(workers=2, max_pending=4)
    try:
        workers = await pool.warm()
        assert len(workers) == 2
        assert os.getpid() not in workers
        # the documents that follow are made by those workers: none is started for them
        assert await pool.warm() <= workers
        assert (await pool.render("warm.html", {})).startswith(b"%PDF")
        assert await pool.warm() <= workers
    finally:
        pool.shutdown()
