"""Reads a spreadsheet's rows in a process of its own (run as a script by `reader.read_rows`).

The parent writes the file's bytes to standard input and gets one msgpack document back on
standard output: ``{"rows": [[cell, …], …], "error": None | [kind, detail]}``. The rows are the
header and every row after it, blank ones included (as empty lists), until the row limit is
passed; ``kind`` is ``unreadable`` (the file cannot be read) or ``too_many_rows``.

Run by path with ``python -I``, so it imports neither the project's packages nor anything from
its own folder: only the standard library, openpyxl and msgspec. It limits its own memory and
CPU time; the parent enforces the wall time by killing it.

Arguments: ``xlsx|csv MAX_ROWS MAX_MEMORY_BYTES CPU_SECONDS``.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from typing import Any

import msgspec

_INT64 = 2**63


class Unreadable(Exception):
    pass


def _limit_resources(memory: int, cpu_seconds: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform (Windows): the parent's wall time still applies
        return
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _xlsx(data: bytes) -> Iterator[Sequence[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise Unreadable(type(exc).__name__) from exc
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # do not trust the stored used range
        try:
            yield from sheet.iter_rows(values_only=True)
        except Exception as exc:  # a broken sheet inside a readable workbook
            raise Unreadable(type(exc).__name__) from exc
    finally:
        workbook.close()


def _csv(data: bytes) -> Iterator[Sequence[Any]]:
    text = data.decode("utf-8-sig")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:  # e.g. a field over the csv module's limit of 128 KiB
        raise Unreadable(str(exc)) from exc


def encode_cell(value: Any) -> Any:
    """A cell as msgpack carries it: dates and times tagged (`["d", iso]`), the rest as is, or as
    text when msgpack cannot carry it (huge integers, durations, …)."""
    if value is None or isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(value, datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    if isinstance(value, time):
        return ["t", value.isoformat()]
    return str(value)


def _trimmed(values: Sequence[Any]) -> list[Any]:
    cells = [encode_cell(v) for v in values]
    while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
        cells.pop()
    return cells


def read(fmt: str, data: bytes, max_rows: int) -> dict[str, Any]:
    """The header and up to `max_rows` rows after it; every row read counts, blank ones too."""
    rows: list[list[Any]] = []
    try:
        for values in _xlsx(data) if fmt == "xlsx" else _csv(data):
            if len(rows) > max_rows:  # the header and max_rows rows are in: one more is too many
                return {"rows": [], "error": ["too_many_rows", str(max_rows)]}
            rows.append(_trimmed(values))
    except Unreadable as exc:
        return {"rows": [], "error": ["unreadable", str(exc)]}
    return {"rows": rows, "error": None}


def main() -> None:
    fmt, max_rows, memory, cpu_seconds = sys.argv[1], *map(int, sys.argv[2:5])
    _limit_resources(memory, cpu_seconds)
    data = sys.stdin.buffer.read()
    try:
        result = read(fmt, data, max_rows)
    except MemoryError:
        result = {"rows": [], "error": ["unreadable", "MemoryError"]}
    sys.stdout.buffer.write(msgspec.msgpack.encode(result))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
