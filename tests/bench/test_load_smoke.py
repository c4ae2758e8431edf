"""`bench/load.py --short` runs to its end and prints every figure (a smoke test: the timings
themselves are never asserted; the full run's figures are in docs/performance.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FIGURES = (
    r"asyncpg fetchrow of one proposal row, p50 +[\d.]+ (µs|ms)",
    r"committed single-row INSERT, p50 +[\d.]+ (µs|ms)",
    r"/health/live, 32 connections +[\d,]+ req/s",
    r"GET /proposals/\{id\}, 1 connection, p50 +[\d.]+ (µs|ms) = [\d.]+× fetchrow",
    r"GET /proposals\?limit=50, 32 connections +[\d,]+ req/s = [\d.]+% of /health/live"
    r" +p50 [\d.]+ (µs|ms) +p99 [\d.]+ (µs|ms) +\(errors \d+, server CPU [\d.]+ (µs|ms)/req\)",
    r"POST /tranches/\{id\}/disbursements, p50 of 3 +[\d.]+ (µs|ms) = [\d.]+× INSERT",
    r"--workers 2 vs 1: /health/live and list throughput +[\d.]+× / [\d.]+×",
    r"list first page, [\d,]+ vs [\d,]+ proposals, p50 .* = [\d.]+×",
    r"list deep keyset page, [\d,]+ vs [\d,]+ proposals, p50 .* = [\d.]+×",
    r"list status=withdrawn, [\d,]+ vs [\d,]+ proposals, p50 .* = [\d.]+×",
)


@pytest.mark.bench_smoke
def test_load_benchmark_short_mode_prints_every_figure() -> None:
    args = [sys.executable, str(ROOT / "bench" / "load.py"), "--short"]
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        args += ["--database-url", url]
    run = subprocess.run(  # noqa: S603  (the project's own script)
        args, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )

    missing = [f for f in FIGURES if re.search(f, run.stdout) is None]
    assert (run.returncode, missing, run.stdout.rstrip().endswith("DONE")) == (0, [], True), (
        run.stdout[-3000:] + run.stderr[-3000:]
    )
