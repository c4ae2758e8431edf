"""Private file storage: type by content, size limits, safe names, atomic private writes."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.problems import ProblemError
from service.storage import (
    ALLOWED_TYPES,
    MAX_FILE_BYTES,
    MAX_PROPOSAL_BYTES,
    FileRefused,
    FileStore,
    FileTooLarge,
    InvalidStorageName,
    StoredFile,
    UnsupportedFileType,
    content_disposition,
    detect_type,
    download_headers,
    safe_display_name,
)

# --- real minimal files ---------------------------------------------------------------------

PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
    b"trailer <</Size 3 /Root 1 0 R>>\nstartxref\n110\n%%EOF\n"
)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    + _png_chunk(b"IEND", b"")
)

JPEG = (
    b"\xff\xd8"  # SOI
    b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"  # APP0 (JFIF 1.1)
    b"\xff\xd9"  # EOI
)

_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="{target}"/></Relationships>'
)


def _content_types(part: str, main_type: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type}"/></Types>'
    )


def _zip(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in parts.items():
            archive.writestr(name, body)
    return buffer.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"

DOCX = _zip(
    {
        "[Content_Types].xml": _content_types("word/document.xml", DOCX_MAIN),
        "_rels/.rels": _RELS.format(target="word/document.xml"),
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Бюджет</w:t></w:r></w:p></w:body></w:document>"
        ),
    }
)

XLSX = _zip(
    {
        "[Content_Types].xml": _content_types("xl/workbook.xml", XLSX_MAIN),
        "_rels/.rels": _RELS.format(target="xl/workbook.xml"),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheets><sheet name="Budget" sheetId="1" r:id="rId1" xmlns:r="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships"/></sheets></workbook>'
        ),
        "xl/worksheets/sheet1.xml": "<worksheet/>",
    }
)

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48

GENERATED = re.compile(r"[0-9a-f]{32}\.(pdf|docx|xlsx|jpg|png)")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


@pytest.fixture
def store(root: Path) -> FileStore:
    return FileStore(root)


def _everything_under(root: Path) -> list[str]:
    """Every file and folder below root, temporary files included."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        found += [os.path.join(folder, name) for name in dirs + files]
    return found


def _files_under(root: Path) -> list[str]:
    return [os.path.join(folder, name) for folder, _, files in os.walk(root) for name in files]


# --- accepted types -------------------------------------------------------------------------

ACCEPTED = [
    ("pdf", PDF, "Заявка.pdf", "application/pdf", "pdf"),
    (
        "docx",
        DOCX,
        "Бюджет проекта.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    (
        "xlsx",
        XLSX,
        "budget.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    ("jpeg", JPEG, "photo.jpeg", "image/jpeg", "jpg"),
    ("png", PNG, "logo.png", "image/png", "png"),
]


def test_allowed_types_are_exactly_the_five_formats() -> None:
    assert ALLOWED_TYPES == {
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "jpeg": "image/jpeg",
        "png": "image/png",
    }
    assert MAX_FILE_BYTES == 10 * 1024 * 1024
    assert MAX_PROPOSAL_BYTES == 40 * 1024 * 1024


@pytest.mark.parametrize(("kind", "data", "name", "content_type", "ext"), ACCEPTED)
def test_each_allowed_type_is_detected(
    kind: str, data: bytes, name: str, content_type: str, ext: str
) -> None:
    assert detect_type(data) == kind


@pytest.mark.parametrize(("kind", "data", "name", "content_type", "ext"), ACCEPTED)
def test_each_allowed_type_is_stored_privately_with_its_metadata(
    store: FileStore, root: Path, kind: str, data: bytes, name: str, content_type: str, ext: str
) -> None:
    stored = store.save(data, name)

    assert stored == StoredFile(
        storage_name=stored.storage_name,
        original_name=name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    match = GENERATED.fullmatch(stored.storage_name)
    assert match is not None
    assert match.group(1) == ext
    path = root / stored.storage_name[:2] / stored.storage_name[2:4] / stored.storage_name
    assert store.path(stored.storage_name) == path
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert _files_under(root) == [str(path)]
    with store.open(stored.storage_name) as handle:
        assert handle.read() == data


def test_the_name_does_not_decide_the_type(store: FileStore) -> None:
    stored = store.save(PNG, "scan.pdf")

    assert stored.content_type == "image/png"
    assert stored.storage_name.endswith(".png")
    assert stored.original_name == "scan.pdf"
    assert 'filename="scan.pdf.png"' in content_disposition(
        stored.original_name, content_type=stored.content_type
    )


def test_the_same_content_twice_gets_two_names(store: FileStore, root: Path) -> None:
    first = store.save(PDF, "a.pdf")
    second = store.save(PDF, "a.pdf")

    assert first.storage_name != second.storage_name
    assert first.sha256 == second.sha256
    assert len(_files_under(root)) == 2


def test_a_missing_root_is_created_private(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "storage"
    stored = FileStore(root).save(JPEG, "x.jpg")

    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert (root / stored.storage_name[:2] / stored.storage_name[2:4]).is_dir()


def test_display_name_is_sanitised_on_save(store: FileStore) -> None:
    stored = store.save(PDF, "  Отчёт\u202e.pdf  ")

    assert stored.original_name == "Отчёт.pdf"


# --- size limits ----------------------------------------------------------------------------


def test_a_file_of_exactly_the_limit_is_accepted(store: FileStore) -> None:
    data = PDF + b"\n" * (MAX_FILE_BYTES - len(PDF))

    assert store.save(data, "big.pdf").size_bytes == MAX_FILE_BYTES


def test_a_file_over_the_limit_is_refused(store: FileStore, root: Path) -> None:
    data = PDF + b"\n" * (MAX_FILE_BYTES + 1 - len(PDF))

    with pytest.raises(FileTooLarge) as refused:
        store.save(data, "big.pdf")

    assert refused.value.status == 413
    assert refused.value.slug == "payload-too-large"
    assert refused.value.detail == (
        "big.pdf is 10.0 MB (10,485,761 bytes); the limit is 10 MB (10,485,760 bytes) per file"
    )
    assert _everything_under(root) == []


def test_the_proposal_total_may_be_filled_exactly(store: FileStore) -> None:
    used = MAX_PROPOSAL_BYTES - len(PDF)

    assert store.save(PDF, "last.pdf", already_used_bytes=used).size_bytes == len(PDF)


def test_a_file_over_the_proposal_total_is_refused_with_the_room_left(
    store: FileStore, root: Path
) -> None:
    used = MAX_PROPOSAL_BYTES - len(PDF) + 1

    with pytest.raises(FileTooLarge) as refused:
        store.save(PDF, "last.pdf", already_used_bytes=used)

    left = len(PDF) - 1
    assert refused.value.status == 413
    assert refused.value.detail == (
        f"last.pdf ({len(PDF)} bytes) does not fit: attachments together may take at most "
        f"40 MB and only {left} bytes is left"
    )
    assert _everything_under(root) == []


def test_the_room_left_is_given_exactly(store: FileStore, root: Path) -> None:
    data = PDF + b"\n" * (3 * 1024 * 1024 - len(PDF))

    with pytest.raises(FileTooLarge) as refused:
        store.save(data, "annex.pdf", already_used_bytes=38 * 1024 * 1024)

    assert refused.value.detail == (
        "annex.pdf (3 MB) does not fit: attachments together may take at "
        "most 40 MB and only 2 MB (2,097,152 bytes) is left"
    )
    assert _everything_under(root) == []


def test_a_full_proposal_says_no_room_is_left(store: FileStore, root: Path) -> None:
    with pytest.raises(FileTooLarge, match="no room is left"):
        store.save(PNG, "x.png", already_used_bytes=MAX_PROPOSAL_BYTES)

    assert _everything_under(root) == []


def test_a_negative_used_total_is_a_programming_error(store: FileStore) -> None:
    with pytest.raises(ValueError, match="negative"):
        store.save(PDF, "x.pdf", already_used_bytes=-1)


# --- refused content ------------------------------------------------------------------------


def _office_zip_bomb() -> bytes:
    """A ZIP whose one entry inflates 64 MiB of zeros from a few dozen kilobytes."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("payload.bin", "w", force_zip64=True) as entry,
    ):
        for _ in range(64):
            entry.write(b"\x00" * (1024 * 1024))
    return buffer.getvalue()


ZIP_BOMB = _office_zip_bomb()


def _content_types_bomb() -> bytes:
    """Looks like a DOCX, but its [Content_Types].xml inflates to 32 MiB."""
    return _zip(
        {
            "[Content_Types].xml": b" " * (32 * 1024 * 1024),
            "word/document.xml": "<w:document/>",
        }
    )


def _corrupt_content_types(docx: bytes) -> bytes:
    """The DOCX with the deflate stream of its [Content_Types].xml made invalid (block type 3)."""
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        info = archive.getinfo("[Content_Types].xml")
    name_length, extra_length = struct.unpack("<HH", docx[info.header_offset + 26 :][:4])
    start = info.header_offset + 30 + name_length + extra_length
    return docx[:start] + b"\xff" + docx[start + 1 :]


REFUSED_CONTENT = [
    pytest.param(EXE, "budget.exe", "a Windows program", id="exe"),
    pytest.param(EXE, "budget.pdf", "a Windows program", id="exe-named-pdf"),
    pytest.param(b"Just some text, honestly a PDF\n", "notes.pdf", "plain text", id="text"),
    pytest.param(b"\x00\x01\x02\x03\x04", "blob.png", "unknown", id="random-bytes"),
    pytest.param(b"GIF89a\x01\x00\x01\x00", "anim.jpg", "a GIF image", id="gif"),
    pytest.param(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        "old.doc",
        "an old-format Word or Excel file (DOC/XLS) or a password-protected document; "
        "save it as DOCX or XLSX without a password",
        id="ole-doc",
    ),
    pytest.param(
        _zip({"readme.txt": "hello"}),
        "report.docx",
        "a ZIP archive that is not a DOCX or XLSX document",
        id="plain-zip",
    ),
    pytest.param(
        ZIP_BOMB, "report.xlsx", "a ZIP archive that is not a DOCX or XLSX document", id="zip-bomb"
    ),
    pytest.param(
        _content_types_bomb(),
        "report.docx",
        "a damaged or oversized Office document",
        id="content-types-bomb",
    ),
    pytest.param(
        _zip({"word/document.xml": "<w:document/>"}),
        "report.docx",
        "a ZIP archive that is not a DOCX or XLSX document",
        id="docx-without-content-types",
    ),
    pytest.param(
        _zip(
            {
                "[Content_Types].xml": _content_types(
                    "word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
                ),
                "word/document.xml": "<w:document/>",
                "word/vbaProject.bin": b"\x00" * 16,
            }
        ),
        "macro.docx",
        "a macro-enabled Office document (DOCM/XLSM); save it as DOCX or XLSX",
        id="docm",
    ),
    pytest.param(
        _zip(
            {
                "[Content_Types].xml": _content_types("word/document.xml", DOCX_MAIN),
                "word/document.xml": "<w:document/>",
                "xl/workbook.xml": "<workbook/>",
            }
        ),
        "both.docx",
        "an Office document that claims to be both DOCX and XLSX",
        id="docx-and-xlsx",
    ),
    pytest.param(
        _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"}),
        "letter.docx",
        "an OpenDocument file (ODT/ODS); save it as DOCX, XLSX or PDF",
        id="odt",
    ),
    pytest.param(
        DOCX[: len(DOCX) // 2], "cut.docx", "a damaged or encrypted ZIP archive", id="truncated"
    ),
    pytest.param(
        _corrupt_content_types(DOCX),
        "bad.docx",
        "a damaged or encrypted ZIP archive",
        id="corrupt-deflate",
    ),
]


@pytest.mark.parametrize(("data", "name", "looks_like"), REFUSED_CONTENT)
def test_content_that_is_not_an_allowed_type_is_refused(
    store: FileStore, root: Path, data: bytes, name: str, looks_like: str
) -> None:
    assert detect_type(data) is None
    with pytest.raises(UnsupportedFileType) as refused:
        store.save(data, name)

    assert refused.value.status == 415
    assert refused.value.slug == "unsupported-media-type"
    assert refused.value.detail == (
        f"{name} is not a PDF, DOCX, XLSX, JPEG or PNG file (its content looks like: {looks_like})"
    )
    assert _everything_under(root) == []


def test_a_zip_bomb_is_refused_without_inflating_it(store: FileStore) -> None:
    types_bomb = _content_types_bomb()
    assert len(ZIP_BOMB) < 1024 * 1024
    assert len(types_bomb) < 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(UnsupportedFileType):
        store.save(ZIP_BOMB, "bomb.docx")
    with pytest.raises(UnsupportedFileType):
        store.save(types_bomb, "bomb.docx")

    assert time.perf_counter() - started < 2.0


def test_an_empty_file_is_refused(store: FileStore, root: Path) -> None:
    with pytest.raises(FileRefused) as refused:
        store.save(b"", "empty.pdf")

    assert type(refused.value) is FileRefused
    assert refused.value.status == 422
    assert refused.value.slug == "invalid-file"
    assert refused.value.detail == "empty.pdf is empty"
    assert _everything_under(root) == []


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        (
            "../../etc/passwd",
            "the file name '../../etc/passwd' contains a folder path; send the file name only",
        ),
        (
            "..\\..\\x.pdf",
            "the file name '..\\..\\x.pdf' contains a folder path; send the file name only",
        ),
        (
            "/etc/x.pdf",
            "the file name '/etc/x.pdf' contains a folder path; send the file name only",
        ),
        (
            "report\x00.exe.pdf",
            "the file name 'report\\x00.exe.pdf' contains control characters; rename the file",
        ),
        (
            "a\r\nb.pdf",
            "the file name 'a\\x0d\\x0ab.pdf' contains control characters; rename the file",
        ),
        ("", "the file has no name"),
        ("   ", "the file has no name"),
        ("..", "'..' is not a file name"),
    ],
)
def test_names_that_are_not_plain_file_names_are_refused(
    store: FileStore, root: Path, name: str, detail: str
) -> None:
    with pytest.raises(FileRefused) as refused:
        store.save(PDF, name)

    assert refused.value.status == 422
    assert refused.value.slug == "invalid-file"
    assert refused.value.detail == detail
    assert _everything_under(root) == []


def test_refusals_are_problem_errors() -> None:
    assert issubclass(FileTooLarge, FileRefused)
    assert issubclass(UnsupportedFileType, FileRefused)
    assert issubclass(FileRefused, ProblemError)
    problem = UnsupportedFileType("x").to_problem("rid", "/api/v1/x")
    assert problem.type == "urn:pcc-grants:problem:unsupported-media-type"
    assert problem.status == 415


def test_a_failed_write_leaves_no_file(
    store: FileStore, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        store.save(PDF, "x.pdf")

    assert _files_under(root) == []


# --- reading and deleting -------------------------------------------------------------------

BAD_STORAGE_NAMES = [
    "../x",
    "../../etc/passwd",
    "/etc/passwd",
    "",
    "x.pdf",
    "0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcde.pdf",
    "0123456789ABCDEF0123456789ABCDEF.pdf",
    "0123456789abcdef0123456789abcdef.exe",
    "0123456789abcdef0123456789abcdef.pdf\n",
    "0123456789abcdef0123456789abcdef.pdf/../../x",
    "01/23/0123456789abcdef0123456789abcdef.pdf",
    "../0123456789abcdef0123456789abcdef.pdf",
]


@pytest.mark.parametrize("name", BAD_STORAGE_NAMES)
def test_open_path_and_delete_refuse_names_never_generated(store: FileStore, name: str) -> None:
    with pytest.raises(InvalidStorageName):
        store.path(name)
    with pytest.raises(InvalidStorageName):
        store.open(name)
    with pytest.raises(InvalidStorageName):
        store.delete(name)


def test_delete_is_idempotent(store: FileStore, root: Path) -> None:
    stored = store.save(PDF, "x.pdf")

    store.delete(stored.storage_name)
    store.delete(stored.storage_name)

    assert _files_under(root) == []
    with pytest.raises(FileNotFoundError):
        store.open(stored.storage_name)


def test_open_does_not_follow_a_planted_symlink(store: FileStore, tmp_path: Path) -> None:
    stored = store.save(PDF, "x.pdf")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    path = store.path(stored.storage_name)
    path.unlink()
    path.symlink_to(secret)

    with pytest.raises(OSError) as refused:  # noqa: PT011
        store.open(stored.storage_name)

    assert refused.value.errno == errno.ELOOP


# --- names and headers ----------------------------------------------------------------------


def test_content_disposition_for_a_cyrillic_name() -> None:
    assert content_disposition("Бюджет проекта.pdf") == (
        "attachment; "
        'filename="Byudzhet proekta.pdf"; '
        "filename*=UTF-8''%D0%91%D1%8E%D0%B4%D0%B6%D0%B5%D1%82%20"
        "%D0%BF%D1%80%D0%BE%D0%B5%D0%BA%D1%82%D0%B0.pdf"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            "Өнүгүү планы.xlsx",
            'attachment; filename="Onuguu plany.xlsx"; '
            "filename*=UTF-8''%D3%A8%D0%BD%D2%AF%D0%B3%D2%AF%D2%AF%20"
            "%D0%BF%D0%BB%D0%B0%D0%BD%D1%8B.xlsx",
        ),
        ("项目.pdf", "attachment; filename=\"file.pdf\"; filename*=UTF-8''%E9%A1%B9%E7%9B%AE.pdf"),
        (
            'a"b%c\\d.pdf',
            "attachment; filename=\"d.pdf\"; filename*=UTF-8''d.pdf",
        ),
        (
            'x"; filename=evil.exe\r\nSet-Cookie: a=b.pdf',
            'attachment; filename="x__ filename=evil.exe Set-Cookie: a=b.pdf"; '
            "filename*=UTF-8''x%22%3B%20filename%3Devil.exe%20Set-Cookie%3A%20a%3Db.pdf",
        ),
        (
            "Café 100%.pdf",
            "attachment; filename=\"Cafe 100_.pdf\"; filename*=UTF-8''Caf%C3%A9%20100%25.pdf",
        ),
    ],
)
def test_content_disposition_quotes_safely(name: str, expected: str) -> None:
    assert content_disposition(name) == expected


@pytest.mark.parametrize(
    ("name", "content_type", "offered"),
    [
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("photo.JPG", "image/jpeg", "photo.JPG"),
        ("scan.pdf", "image/png", "scan.pdf.png"),
        ("budget", "application/pdf", "budget.pdf"),
        ("page.html", "application/pdf", "page.html.pdf"),
        ("x.bin", "application/octet-stream", "x.bin"),
    ],
)
def test_download_name_ends_with_the_content_s_extension(
    name: str, content_type: str, offered: str
) -> None:
    assert f'filename="{offered}"' in content_disposition(name, content_type=content_type)


def test_download_headers_forbid_rendering_and_sniffing() -> None:
    assert download_headers("Бюджет.pdf", "application/pdf") == {
        "Content-Disposition": content_disposition("Бюджет.pdf", content_type="application/pdf"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("C:\\Users\\Айгуль\\Documents\\Заявка.docx", "Заявка.docx"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("dir/../", "dir"),
        ("../..", "file"),
        ("", "file"),
        ("\x00\x01", "file"),
        ("re\x00port.pdf", "report.pdf"),
        ("a\tb\n\nc.pdf", "a b c.pdf"),
        ("  spaced   out  .pdf. . ", "spaced out .pdf"),
        (".hidden", "file.hidden"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("Бюджет проекта.pdf", "Бюджет проекта.pdf"),
        ("И\u0306.pdf", "Й.pdf"),  # decomposed (as macOS sends it) -> composed
        ("a\ud800b.pdf", "ab.pdf"),
    ],
)
def test_safe_display_name(name: str, expected: str) -> None:
    assert safe_display_name(name) == expected


def test_safe_display_name_shortens_to_200_keeping_the_extension() -> None:
    shortened = safe_display_name("Ж" * 500 + ".docx")

    assert shortened == "Ж" * 195 + ".docx"
    assert safe_display_name("x" * 500) == "x" * 200


@given(st.text(max_size=300))
def test_safe_display_name_is_always_a_safe_plain_name(name: str) -> None:
    safe = safe_display_name(name)

    assert 0 < len(safe) <= 200
    assert "/" not in safe
    assert "\\" not in safe
    assert safe not in {".", ".."}
    assert not safe.startswith((".", " "))
    assert not safe.endswith((".", " "))
    assert all(ch.isprintable() or ch in "\u200c\u200d" for ch in safe)
    assert safe_display_name(safe) == safe
    header = content_disposition(name)
    assert header.isascii()
    assert "\r" not in header
    assert "\n" not in header
