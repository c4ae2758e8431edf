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
- Cells come back as read: text trimmed (blank text is None), numbers, booleans and dates as the
  workbook stores them; CSV cells are always text.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from contracts.imports import ImportRowError
from service.problems import ProblemError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
"""The largest file the API accepts."""
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
"""The most a workbook may unpack to (a ZIP bomb guard)."""
MAX_DATA_ROWS = 10_000
"""The most data rows one file may have; split larger files."""

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


def _xlsx_rows(data: bytes) -> Iterator[Sequence[Any]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(
            f"the workbook unpacks to {unpacked // (1024 * 1024)} MB; "
            f"at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB are accepted"
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise UnsupportedFile(f"the Excel workbook cannot be read ({type(exc).__name__})") from exc
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # do not trust the stored used range
        try:
            yield from sheet.iter_rows(values_only=True)
        except Exception as exc:  # a broken sheet inside a readable workbook
            raise UnsupportedFile(
                f"the Excel workbook cannot be read ({type(exc).__name__})"
            ) from exc
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[Sequence[Cell]]:
    text = data.decode("utf-8-sig")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:  # e.g. a field over the csv module's limit of 128 KiB
        raise UnsupportedFile(f"the CSV file cannot be read ({exc})") from exc


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
        if len(rows) >= MAX_DATA_ROWS:
            errors.append(
                ImportRowError(
                    row=number,
                    column=None,
                    message=f"the file has more than {MAX_DATA_ROWS} data rows: split it",
                )
            )
            break
        rows.append(Row(number=number, cells=cells))
    present = tuple(name for _, name in sorted(positions.items()))
    return Table(format=fmt, columns=present, rows=tuple(rows), errors=tuple(errors))


def read_table(data: bytes, columns: Columns) -> Table:
    """Read the file's rows; 415 when it is neither XLSX nor CSV, 413 when it unpacks too big."""
    fmt = detect_format(data)
    raw = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data)
    return _table(fmt, raw, columns)


__all__ = [
    "MAX_DATA_ROWS",
    "MAX_UPLOAD_BYTES",
    "Cell",
    "Columns",
    "FileTooLarge",
    "Row",
    "Table",
    "UnsupportedFile",
    "detect_format",
    "normalise_header",
    "read_table",
]
