"""Reading the PDFs back in tests: their text (pypdf) and their pages as PNG (pdftoppm)."""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
from pathlib import Path

from PIL import Image
from pypdf import PdfReader

PNG_DIR = Path(
    os.environ.get("DOCUMENT_PNG_DIR", Path(tempfile.gettempdir()) / "grants-document-pngs")
)
"""Where the tests leave the pages they render, to be looked at."""


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pages_of(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    """Text with every run of whitespace (line breaks, no-break spaces) as one space."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def to_pngs(pdf: bytes, name: str, resolution: int = 60) -> list[Path]:
    """Every page as a PNG in PNG_DIR (`<name>-<n>.png`), by poppler's pdftoppm."""
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    source = PNG_DIR / f"{name}.pdf"
    source.write_bytes(pdf)
    for old in PNG_DIR.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(  # noqa: S603  (a fixed program on our own file)
        ["/usr/bin/pdftoppm", "-png", "-r", str(resolution), str(source), str(PNG_DIR / name)],
        check=True,
        capture_output=True,
    )
    return sorted(PNG_DIR.glob(f"{name}-*.png"))


def ink(png: Path) -> float:
    """Share of the page's pixels that are not white (0.0: blank)."""
    image = Image.open(png).convert("L")
    pixels = list(image.getdata())
    return sum(1 for p in pixels if p < 200) / len(pixels)
