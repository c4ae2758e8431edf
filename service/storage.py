"""Private file storage for proposal and report attachments.

Files are checked before anything is written: a name that is a plain file name, a non-empty body
within the size limits, and a type recognised by its content (magic bytes), never by its name. A
file that passes is written atomically under a generated name (``<uuid4 hex>.<ext>``) in a
two-level shard (``ab/cd/<name>``) below the storage root, readable by the service's user only.

Who may download a file is the service's decision; this module only hands out the bytes and the
``Content-Disposition`` header that makes browsers save rather than display them.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from service.problems import ProblemError

ALLOWED_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
"""Detected type -> the content type it is stored and served with."""

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PROPOSAL_BYTES = 40 * 1024 * 1024

MAX_DISPLAY_NAME_CHARS = 200
FALLBACK_NAME = "file"

_EXTENSION = {"pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "jpeg": "jpg", "png": "png"}
"""Detected type -> the extension of its generated storage name."""
_NAME_EXTENSIONS = {
    "pdf": {"pdf"},
    "docx": {"docx"},
    "xlsx": {"xlsx"},
    "jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "png": {"png"},
}
"""Detected type -> the extensions a download name of that type may already end with."""
_KIND_BY_CONTENT_TYPE = {content_type: kind for kind, content_type in ALLOWED_TYPES.items()}

_STORAGE_NAME = re.compile(r"[0-9a-f]{32}\.(?:pdf|docx|xlsx|jpg|png)")
_FILE_MODE = 0o600
_DIR_MODE = 0o700

_MAX_ZIP_ENTRIES = 10_000
_MAX_ZIP_PART_BYTES = 1024 * 1024
"""The most this module decompresses from an uploaded ZIP: one small XML part, never more."""
_ALLOWED_LIST = "PDF, DOCX, XLSX, JPEG or PNG"


# --- problems -------------------------------------------------------------------------------


class FileRefused(ProblemError):
    """An upload that is not acceptable as a file: empty, or a name that is not a file name.

    Base of the other upload refusals, so ``except FileRefused`` catches them all."""

    status = 422
    slug = "invalid-file"
    title = "The file is not acceptable"


class FileTooLarge(FileRefused):
    """Over the per-file limit, or over what is left of the per-proposal total."""

    status = 413
    slug = "payload-too-large"
    title = "The file is too large"


class UnsupportedFileType(FileRefused):
    """The content is not one of the accepted types, whatever the name says."""

    status = 415
    slug = "unsupported-media-type"
    title = "This type of file is not accepted"


class InvalidStorageName(ValueError):
    """A storage name that this store never generates: a programming or data error, not input."""


# --- type detection -------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_DOCX_MAIN = b"wordprocessingml.document.main+xml"
_XLSX_MAIN = b"spreadsheetml.sheet.main+xml"
_ZIP_NOT_OFFICE = "a ZIP archive that is not a DOCX or XLSX document"

_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an old-format Word or Excel file (DOC/XLS) or a "
        "password-protected document; save it as DOCX or XLSX without a password",
    ),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"{\\rtf", "an RTF document; save it as DOCX or PDF"),
    (b"%!PS", "a PostScript document"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
)


def _zip_kind(data: bytes) -> tuple[str | None, str]:
    """DOCX, XLSX or neither, from the archive's directory and its ``[Content_Types].xml``.

    Nothing is extracted; at most one part of at most ``_MAX_ZIP_PART_BYTES`` is decompressed,
    so a ZIP bomb costs no more than a small file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > _MAX_ZIP_ENTRIES:
                return None, "a ZIP archive with too many entries"
            by_name = {info.filename.lower(): info for info in infos}
            if "mimetype" in by_name and by_name["mimetype"].file_size <= 200:
                with archive.open(by_name["mimetype"]) as part:
                    if part.read(200).startswith(b"application/vnd.oasis.opendocument"):
                        return None, (
                            "an OpenDocument file (ODT/ODS); save it as DOCX, XLSX or PDF"
                        )
            types_info = by_name.get("[content_types].xml")
            if types_info is None:
                return None, _ZIP_NOT_OFFICE
            if types_info.file_size > _MAX_ZIP_PART_BYTES:
                return None, "a damaged or oversized Office document"
            with archive.open(types_info) as part:
                content_types = part.read(_MAX_ZIP_PART_BYTES + 1)
    except Exception:  # an untrusted archive: zipfile, zlib and struct errors alike mean "no"
        return None, "a damaged or encrypted ZIP archive"
    if len(content_types) > _MAX_ZIP_PART_BYTES:
        return None, "a damaged or oversized Office document"
    if b"macroenabled" in content_types.lower() or any(
        name.endswith("vbaproject.bin") for name in by_name
    ):
        return None, "a macro-enabled Office document (DOCM/XLSM); save it as DOCX or XLSX"
    is_docx = _DOCX_MAIN in content_types or "word/document.xml" in by_name
    is_xlsx = _XLSX_MAIN in content_types or "xl/workbook.xml" in by_name
    if is_docx and not is_xlsx:
        return "docx", "a DOCX document"
    if is_xlsx and not is_docx:
        return "xlsx", "an XLSX workbook"
    if is_docx and is_xlsx:
        return None, "an Office document that claims to be both DOCX and XLSX"
    return None, _ZIP_NOT_OFFICE


def _looks_like_text(head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head[:4096], final=False)
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text)


def _classify(data: bytes) -> tuple[str | None, str]:
    """(accepted type or None, a plain-words description of what the content looks like)."""
    if _PDF_HEADER.match(data):
        return "pdf", "a PDF document"
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR":
        return "png", "a PNG image"
    if data.startswith(b"\xff\xd8\xff") and len(data) > 3 and 0xC0 <= data[3] <= 0xFE:
        return "jpeg", "a JPEG image"
    if data.startswith(_ZIP_LOCAL_HEADER):
        return _zip_kind(data)
    for signature, description in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return None, description
    if data[8:12] == b"WEBP" and data.startswith(b"RIFF"):
        return None, "a WebP image"
    if data[4:8] == b"ftyp":
        if data[8:12] in {b"heic", b"heix", b"hevc", b"mif1", b"msf1"}:
            return None, "a HEIC photo; save it as JPEG"
        return None, "a video or another media file"
    if data and _looks_like_text(data):
        return None, "plain text"
    return None, "unknown"


def detect_type(head: bytes) -> str | None:
    """The accepted type of a file's content (a key of ``ALLOWED_TYPES``), or None.

    PDF, JPEG and PNG are known by their first bytes. DOCX and XLSX are both ZIP archives and are
    told apart by the archive's directory, which sits at its end: pass the whole file for them
    (a prefix of a ZIP is not recognised). Nothing is extracted; the caller bounds the size."""
    return _classify(head)[0]


# --- names ----------------------------------------------------------------------------------

_KEPT_FORMAT_CHARS = frozenset("\u200c\u200d")
"""Zero-width (non-)joiners: needed by some scripts and emoji. Other format characters (bidi
overrides that make ``exe.pdf`` read backwards, zero-width spaces, BOMs) are dropped, and so are
private-use and unassigned code points: what is left is printable."""


def _drop_invisible(name: str) -> str:
    out: list[str] = []
    for ch in name:
        category = unicodedata.category(ch)
        if ch.isspace():
            out.append(" ")
        elif category in ("Cc", "Cs", "Co", "Cn") or (
            category == "Cf" and ch not in _KEPT_FORMAT_CHARS
        ):
            continue
        else:
            out.append(ch)
    return "".join(out)


def safe_display_name(name: str) -> str:
    """A file name fit to show and to offer for download.

    Keeps the last path component only (``../../etc/passwd`` -> ``passwd``, ``C:\\x\\a.pdf`` ->
    ``a.pdf``), drops control, surrogate and invisible formatting characters, collapses white
    space, trims leading dots and trailing dots and spaces, keeps letters of every script
    (Cyrillic names are normal), and shortens to 200 characters keeping the extension. Never
    empty: ``"file"`` when nothing is left. Applying it twice changes nothing."""
    text = unicodedata.normalize("NFC", _drop_invisible(name)).replace("\\", "/")
    base = ""
    for part in reversed(text.split("/")):
        if part.strip(". "):
            base = part
            break
    base = " ".join(base.split()).rstrip(". ")
    if base.startswith("."):
        base = FALLBACK_NAME + base
    if len(base) > MAX_DISPLAY_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        if dot and stem and len(ext) <= 16:
            keep = MAX_DISPLAY_NAME_CHARS - len(ext) - 1
            base = f"{stem[:keep].rstrip('. ')}.{ext}"
        else:
            base = base[:MAX_DISPLAY_NAME_CHARS].rstrip(". ")
    return base or FALLBACK_NAME


def _shown(name: str) -> str:
    """A name as given, made safe to quote in a message (control characters escaped)."""
    shown = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in name[:120])
    return shown + ("…" if len(name) > 120 else "")


def _check_name(name: str) -> str:
    if not name.strip():
        raise FileRefused("the file has no name")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise FileRefused(
            f"the file name '{_shown(name)}' contains control characters; rename the file"
        )
    if "/" in name or "\\" in name:
        raise FileRefused(
            f"the file name '{_shown(name)}' contains a folder path; send the file name only"
        )
    if not name.strip(". "):
        raise FileRefused(f"'{_shown(name)}' is not a file name")
    return safe_display_name(name)


_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "ң": "ng", "о": "o", "ө": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ү": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
"""Russian and Kyrgyz Cyrillic to ASCII, for clients that only read the plain ``filename``."""


def _ascii_fallback(name: str) -> str:
    latin: list[str] = []
    for ch in name:
        low = ch.lower()
        if low in _TRANSLIT:
            latin.append(_TRANSLIT[low].capitalize() if ch != low else _TRANSLIT[low])
        else:
            latin.append(ch)
    decomposed = unicodedata.normalize("NFKD", "".join(latin))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    cleaned = "".join("_" if ch in '"\\%;' else ch for ch in ascii_only if " " <= ch <= "~")
    stem, dot, ext = " ".join(cleaned.split()).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    if not any(ch.isalnum() for ch in stem):
        stem = FALLBACK_NAME
    ext = ext.strip()
    return f"{stem}.{ext}" if ext and any(ch.isalnum() for ch in ext) else stem


def _download_name(original_name: str, content_type: str | None) -> str:
    name = safe_display_name(original_name)
    kind = _KIND_BY_CONTENT_TYPE.get(content_type or "")
    if kind is None:
        return name
    _, dot, ext = name.rpartition(".")
    if dot and ext.lower() in _NAME_EXTENSIONS[kind]:
        return name
    return safe_display_name(f"{name}.{_EXTENSION[kind]}")


def content_disposition(original_name: str, *, content_type: str | None = None) -> str:
    """``Content-Disposition: attachment`` (RFC 6266) with an ASCII ``filename`` for old clients
    and the real name, percent-encoded UTF-8, in ``filename*`` (RFC 5987/8187).

    The name passes through ``safe_display_name`` (no header injection is possible). Given the
    stored ``content_type``, an extension that does not match the content is completed
    (``photo.pdf`` holding a PNG is offered as ``photo.pdf.png``), so the saved file opens as
    what it is."""
    name = _download_name(original_name, content_type)
    return (
        f'attachment; filename="{_ascii_fallback(name)}"; '
        f"filename*=UTF-8''{quote(name, safe='', encoding='utf-8')}"
    )


def download_headers(original_name: str, content_type: str) -> dict[str, str]:
    """The headers a download response needs besides its ``Content-Type``: save, never render,
    never sniff, never cache in shared caches."""
    return {
        "Content-Disposition": content_disposition(original_name, content_type=content_type),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


# --- the store ------------------------------------------------------------------------------


def _human(size: int) -> str:
    mib = 1024 * 1024
    if size < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    if size < mib:
        return f"{size / 1024:.1f} KB"
    if size % mib == 0:
        return f"{size // mib} MB"
    return f"{size / mib:.1f} MB"


def _exact(size: int) -> str:
    return _human(size) if size < 1024 else f"{_human(size)} ({size:,} bytes)"


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    """The generated name, ``<32 hex>.<ext>``: what the database keeps."""
    original_name: str
    """The uploader's name after ``safe_display_name``: for display and download only."""
    content_type: str
    size_bytes: int
    sha256: str
    """Hex digest of the content."""


def _make_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=_DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    os.chmod(path, _DIR_MODE)  # mkdir's mode is filtered by the umask


class FileStore:
    """Attachments in a private folder (``Settings.resolved_storage_dir``).

    Synchronous file I/O: call it from a worker thread in async handlers."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def validate(
        self, data: bytes, original_name: str, *, already_used_bytes: int = 0
    ) -> tuple[str, str]:
        """(accepted type, display name), or the refusal ``save`` would raise. Writes nothing."""
        if already_used_bytes < 0:
            raise ValueError("already_used_bytes must not be negative")
        display = _check_name(original_name)
        size = len(data)
        if size == 0:
            raise FileRefused(f"{display} is empty")
        if size > MAX_FILE_BYTES:
            raise FileTooLarge(
                f"{display} is {_exact(size)}; the limit is {_exact(MAX_FILE_BYTES)} per file"
            )
        if already_used_bytes + size > MAX_PROPOSAL_BYTES:
            left = max(MAX_PROPOSAL_BYTES - already_used_bytes, 0)
            room = (
                f"only {_exact(left)} is left"
                if left
                else "no room is left; delete an attachment first"
            )
            raise FileTooLarge(
                f"{display} ({_human(size)}) does not fit: attachments together may take at "
                f"most {_human(MAX_PROPOSAL_BYTES)} and {room}"
            )
        kind, looks_like = _classify(data)
        if kind is None:
            raise UnsupportedFileType(
                f"{display} is not a {_ALLOWED_LIST} file (its content looks like: {looks_like})"
            )
        return kind, display

    def save(self, data: bytes, original_name: str, *, already_used_bytes: int = 0) -> StoredFile:
        """Check, then store the file under a new generated name; its metadata.

        ``already_used_bytes``: the total size of the files the proposal (or report) already
        has. Every check runs before anything touches the disk; the write is atomic (a temporary
        file in the target folder, fsync, ``os.replace``), and a failed write leaves no file."""
        kind, display = self.validate(data, original_name, already_used_bytes=already_used_bytes)
        storage_name = f"{uuid.uuid4().hex}.{_EXTENSION[kind]}"
        self._write(self.path(storage_name), data)
        return StoredFile(
            storage_name=storage_name,
            original_name=display,
            content_type=ALLOWED_TYPES[kind],
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    def _write(self, target: Path, data: bytes) -> None:
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
        _make_private_dir(self.root)
        _make_private_dir(target.parent.parent)
        _make_private_dir(target.parent)
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
        try:
            with open(fd, "wb") as temp:
                os.fchmod(temp.fileno(), _FILE_MODE)
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def path(self, storage_name: str) -> Path:
        """Where a stored file lives. Refuses any name this store does not generate."""
        if not isinstance(storage_name, str) or not _STORAGE_NAME.fullmatch(storage_name):
            raise InvalidStorageName(f"not a storage name: {storage_name!r:.80}")
        return self.root / storage_name[0:2] / storage_name[2:4] / storage_name

    def open(self, storage_name: str) -> BinaryIO:
        """The stored bytes, for reading; ``FileNotFoundError`` when the file is gone."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path(storage_name), flags)
        return open(fd, "rb")

    def delete(self, storage_name: str) -> None:
        """Remove a stored file; nothing happens when it is already gone."""
        self.path(storage_name).unlink(missing_ok=True)


__all__ = [
    "ALLOWED_TYPES",
    "MAX_FILE_BYTES",
    "MAX_PROPOSAL_BYTES",
    "FileRefused",
    "FileStore",
    "FileTooLarge",
    "InvalidStorageName",
    "StoredFile",
    "UnsupportedFileType",
    "content_disposition",
    "detect_type",
    "download_headers",
    "safe_display_name",
]
