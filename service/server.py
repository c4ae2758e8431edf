"""How `grants serve` runs uvicorn: one worker or several, TCP_NODELAY on every connection, and
the garbage collector tuned once the app is built.

Several workers: uvicorn binds one listening socket in the supervisor and hands it to each worker
(a `spawn`ed process). uvicorn 0.54 makes that socket with `socket.socket(family=AF_INET)`, whose
`proto` is 0, and multiprocessing rebuilds it in the worker with that same `proto`. asyncio sets
TCP_NODELAY on an accepted connection only when its socket says `proto == IPPROTO_TCP`
(`asyncio.base_events._set_nodelay`); accepted sockets inherit the listener's `proto`, so with
`--workers 2` no connection had TCP_NODELAY: Nagle's algorithm held back each response's second
segment until the client's delayed ACK, ~40 ms (uvicorn issue 3149; every request took ~44 ms
even on one connection). `TcpConfig.bind_socket` returns the same socket declared as TCP, so
the workers' connections get TCP_NODELAY as a single worker's always did.

The HTTP parser is httptools and the event loop uvloop (both pinned in pyproject.toml): faster
than the pure-Python h11 and asyncio's loop (figures in docs/performance.md).
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

GC_THRESHOLDS = (50_000, 20, 100)
"""`gc.set_threshold` for a serving worker. CPython's default (700, 10, 10) runs a young
collection every 700 net allocations and a full one every 100 young ones; one allocation-heavy
request (the finance summary builds tens of thousands of objects) triggered a full collection
about once in 50 requests, ~120 ms over the whole heap. With the start-up heap frozen
(`gc.freeze`) and these thresholds, full collections are rare and only walk what requests made
(docs/performance.md has the p99 before and after)."""


class TcpConfig(uvicorn.Config):
    """uvicorn's configuration whose shared listening socket is declared TCP (see the module),
    and whose workers freeze their start-up heap (`tune_gc`; `GRANTS_GC_TUNING=off` leaves
    CPython's defaults, for measuring)."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto != 0:
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp

    def load(self) -> None:
        """In each worker: build the app (the factory), then tune the garbage collector."""
        super().load()
        if os.environ.get("GRANTS_GC_TUNING", "on") != "off":
            tune_gc()


def tune_gc() -> None:
    """Collect once, freeze what start-up made (modules, the app, its routes and statements:
    never garbage, never walked again), and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def prepare_metrics_dir(workers: int) -> Path | None:
    """Several workers: a fresh, empty folder for prometheus_client's multiprocess files, named
    in `PROMETHEUS_MULTIPROC_DIR` for the workers (each writes its own; /metrics adds them up).
    One worker: none (metrics in the process's memory). An inherited setting is kept, emptied."""
    if workers == 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return None
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="grants-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):  # a previous run's counts must not be added in
        leftover.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return None if given else folder


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """Serve `app` (an import string of an app factory) as `uvicorn.run` would, with
    `TcpConfig`, httptools and uvloop. Returns once the server (all workers) has stopped."""
    own_metrics_dir = prepare_metrics_dir(workers)
    config = TcpConfig(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="httptools",
        loop="uvloop",
        **options,
    )
    server = uvicorn.Server(config=config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    finally:
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


__all__ = ["GC_THRESHOLDS", "TcpConfig", "prepare_metrics_dir", "run", "tune_gc"]
