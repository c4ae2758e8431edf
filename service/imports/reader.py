"""Reading an uploaded spreadsheet (XLSX or CSV) into rows keyed by normalised column names.

- The format is told by the content, never by the file name: a ZIP holding `xl/workbook.xml` is
  an Excel workbook (read with openpyxl, first sheet, cached formula values); UTF-8 text (with or
  without a byte-order mark) is CSV, its delimiter `,`, `;` or tab (whichever the header line
  uses most). Anything else is refused (415).
- Row 1 is the header. Header names are normalised (trimmed, lower case, spaces and hyphens to
  `_`): `Plan title EN` is `plan_title_en`. A missing required column is one error naming it; an
  unknown column is an error too (a misspelt optional column would otherwise be ignored silently);
  a column with a blank header is ignored.
- Rows whose cells are all blank are skipped. Every other row keeps the number the spreadsheet
  shows for it, so errors point at the right line.
- The file is read in a process of its own (`sheet_worker`, streaming: openpyxl's read-only
  mode), never on the server's event loop: at most `MAX_ROWS` rows after the header, counted as
  they are read, blank ones too (a sheet of endless rows without row numbers stops there), within
  `READ_TIME_LIMIT` seconds and `WORKER_MEMORY_BYTES` of memory. Over a limit, the import is
  refused with a 422 problem naming it.
- Cells come back as read: text trimmed (blank text is None), numbers, booleans and dates as the
  workbook stores them; CSV cells are always text.
"""

from __future__ import annotations

import asyncio
import difflib
import io
import math
import re
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec
import structlog
from anyio import to_thread
from openpyxl.utils import get_column_letter

from contracts.imports import ImportRowError
from service.problems import ProblemError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""The largest file the API accepts."""
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
"""The most a workbook may unpack to (a ZIP bomb guard)."""
MAX_ROWS = 10_000
"""The most rows one file may have after its header, blank ones included; split larger files."""
READ_TIME_LIMIT = 20.0
"""Seconds of wall time the reading of one file may take."""
WORKER_MEMORY_BYTES = 1024 * 1024 * 1024
"""The address space the reading process may use."""
MAX_CONCURRENT_READS = 2
"""Files read at the same time by one server process; more wait their turn."""
_WORKER = Path(__file__).with_name("sheet_worker.py")
_readers = asyncio.Semaphore(MAX_CONCURRENT_READS)
log = structlog.get_logger("service.imports")

Cell = str | int | float | bool | date | datetime | time | None
FileFormat = Literal["xlsx", "csv"]


class UnsupportedFile(ProblemError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class FileTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class TooManyRows(ProblemError):
    status = 422
    slug = "import-too-many-rows"
    title = "The file has more rows than an import takes"


class ReadTimeLimit(ProblemError):
    status = 422
    slug = "import-time-limit"
    title = "The file took longer to read than an import may take"


@dataclass(frozen=True)
class Columns:
    """The columns of one import format."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class Row:
    number: int
    """As the spreadsheet shows it: the header is row 1, the first data row is row 2."""
    cells: Mapping[str, Cell]

    def get(self, column: str) -> Cell:
        return self.cells.get(column)


@dataclass(frozen=True)
class Table:
    format: FileFormat
    columns: tuple[str, ...]
    """The known columns present in the file, in file order."""
    rows: tuple[Row, ...]
    errors: tuple[ImportRowError, ...]
    """Errors of the file as a whole (its header, its size): when any, no row is imported."""


def normalise_header(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def detect_format(data: bytes) -> FileFormat:
    """XLSX or CSV by what the bytes are; 415 for anything else."""
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile as exc:
            raise UnsupportedFile("the file looks like a ZIP archive but cannot be opened") from exc
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "content.xml" in names:
            raise UnsupportedFile(
                "OpenDocument spreadsheets are not supported: save the file as .xlsx or .csv"
            )
        raise UnsupportedFile("a ZIP archive that is not an Excel workbook (.xlsx)")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnsupportedFile("old Excel files (.xls) are not supported: save it as .xlsx")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFile("neither an Excel workbook (.xlsx) nor UTF-8 text (.csv)") from exc
    if "\x00" in text:
        raise UnsupportedFile("the text contains NUL characters: not a CSV file")
    return "csv"


def _check_unpacked_size(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MB; "
            f"at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB are accepted"
        )


def _decode_cell(value: Any) -> Any:
    """A cell from the worker (`sheet_worker.encode_cell`): dates and times come tagged."""
    if isinstance(value, list) and len(value) == 2:
        tag, text = value
        if tag == "dt":
            return datetime.fromisoformat(text)
        if tag == "d":
            return date.fromisoformat(text)
        if tag == "t":
            return time.fromisoformat(text)
    return value


class _WorkerResult(msgspec.Struct):
    rows: list[list[Any]]
    error: tuple[str, str] | None


def _limit_text(seconds: float) -> str:
    return f"{seconds:g} seconds"


async def read_rows(
    fmt: FileFormat,
    data: bytes,
    *,
    max_rows: int = MAX_ROWS,
    time_limit: float = READ_TIME_LIMIT,
) -> list[list[Cell]]:
    """The header and the rows after it, read in a process of its own (`sheet_worker`) so that
    neither the CPU nor the memory of a hostile file reaches the server's event loop: at most
    `max_rows` rows after the header, blank ones included, within `time_limit` seconds of wall
    time (the process is killed when it runs over)."""
    if fmt == "xlsx":
        _check_unpacked_size(data)
    async with _readers:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",  # isolated: neither the project nor the worker's own folder on sys.path
            str(_WORKER),
            fmt,
            str(max_rows),
            str(WORKER_MEMORY_BYTES),
            str(math.ceil(time_limit) + 1),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(data), timeout=time_limit)
        except TimeoutError:
            raise ReadTimeLimit(
                f"reading the file took longer than the limit of {_limit_text(time_limit)}: "
                "split it into smaller files"
            ) from None
        finally:
            if proc.returncode is None:  # over time, or the request was cancelled
                proc.kill()
                with anyio.CancelScope(shield=True):
                    await proc.wait()
    try:
        result = msgspec.msgpack.decode(out, type=_WorkerResult)
    except msgspec.DecodeError:  # killed by its memory or CPU limit
        log.warning("sheet_worker_failed", returncode=proc.returncode)
        raise UnsupportedFile(
            f"the {'Excel workbook' if fmt == 'xlsx' else 'CSV file'} cannot be read "
            "within the reader's memory and time limits"
        ) from None
    if result.error is not None:
        kind, detail = result.error
        if kind == "too_many_rows":
            raise TooManyRows(
                f"the file has more than {max_rows:,} rows after the header (blank rows count "
                "too): split it into files of at most that many rows, or delete the blank rows "
                "at its end"
            )
        if fmt == "xlsx":
            raise UnsupportedFile(f"the Excel workbook cannot be read ({detail})")
        raise UnsupportedFile(f"the CSV file cannot be read ({detail})")
    return [[_decode_cell(v) for v in row] for row in result.rows]


def _clean(value: Any) -> Cell:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool | int | float | date | datetime | time) or value is None:
        return value
    return str(value)  # e.g. a Decimal from a future reader: text is what the parsers take


def _header(values: Sequence[Any], columns: Columns) -> tuple[dict[int, str], list[ImportRowError]]:
    positions: dict[int, str] = {}
    errors: list[ImportRowError] = []
    seen: dict[str, int] = {}
    known = set(columns.all)
    for index, raw in enumerate(values):
        name = normalise_header(raw)
        if not name:
            continue
        if name not in known:
            close = difflib.get_close_matches(name, columns.all, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            errors.append(ImportRowError(row=1, column=name, message=f"unknown column{hint}"))
            continue
        if name in seen:
            errors.append(
                ImportRowError(
                    row=1,
                    column=name,
                    message=f"the column appears twice (columns {get_column_letter(seen[name] + 1)}"
                    f" and {get_column_letter(index + 1)})",
                )
            )
            continue
        seen[name] = index
        positions[index] = name
    for name in columns.required:
        if name not in seen:
            errors.append(ImportRowError(row=1, column=name, message="required column is missing"))
    return positions, errors


def _table(fmt: FileFormat, raw_rows: Iterable[Sequence[Any]], columns: Columns) -> Table:
    iterator = iter(raw_rows)
    header_values = next(iterator, None)
    if header_values is None or not any(_clean(v) is not None for v in header_values):
        return Table(
            format=fmt,
            columns=(),
            rows=(),
            errors=(ImportRowError(row=1, column=None, message="the header row is empty"),),
        )
    positions, errors = _header(header_values, columns)
    rows: list[Row] = []
    for number, values in enumerate(iterator, start=2):
        cells = {name: _clean(values[i]) for i, name in positions.items() if i < len(values)}
        if all(v is None for v in cells.values()):
            continue  # blank (or only notes in a column without a header)
        rows.append(Row(number=number, cells=cells))
    present = tuple(name for _, name in sorted(positions.items()))
    return Table(format=fmt, columns=present, rows=tuple(rows), errors=tuple(errors))


async def read_table(
    data: bytes, columns: Columns, *, time_limit: float = READ_TIME_LIMIT
) -> Table:
    """Read the file's rows off the event loop; 415 when it is neither XLSX nor CSV (or cannot
    be read), 413 when it unpacks too big, 422 when it has too many rows or takes too long."""
    fmt = detect_format(data)
    raw = await read_rows(fmt, data, time_limit=time_limit)
    return await to_thread.run_sync(_table, fmt, raw, columns)


__all__ = [
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "READ_TIME_LIMIT",
    "Cell",
    "Columns",
    "FileTooLarge",
    "ReadTimeLimit",
    "Row",
    "Table",
    "TooManyRows",
    "UnsupportedFile",
    "detect_format",
    "normalise_header",
    "read_rows",
    "read_table",
]
