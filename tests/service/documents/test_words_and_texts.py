"""Pure parts of the documents: Kyrgyz number words (hypothesis: read back they give the number,
and their structure is the language's), amounts in words, the catalogue's completeness, and the
URL fetcher that keeps documents off the network and the file system."""

from __future__ import annotations

import re
import string
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.documents.format import money, money_words
from service.documents.render import STATIC, static_only_fetcher
from service.documents.texts import LANGS, TEXTS
from service.documents.words_ky import HUNDRED, LIMIT, SCALES, TENS, UNITS, ZERO, kyrgyz_words

pytestmark = pytest.mark.shared_app  # one app for the module (tests/conftest.py)

VALUES = {w: i for i, w in enumerate(UNITS) if w} | {w: 10 * i for i, w in enumerate(TENS) if w}
SCALE_OF = {w: 1000**i for i, w in enumerate(SCALES) if w}


def read_kyrgyz(words: str) -> int:
    """The test's own reader of Kyrgyz numerals, the inverse of `kyrgyz_words`."""
    if words == ZERO:
        return 0
    total = group = 0
    for word in words.split():
        if word in VALUES:
            group += VALUES[word]
        elif word == HUNDRED:
            group = (group or 1) * 100
        else:
            total += (group or 1) * SCALE_OF[word]
            group = 0
    return total + group


@given(st.integers(min_value=0, max_value=LIMIT - 1))
def test_kyrgyz_words_read_back_as_the_number(n: int) -> None:
    assert read_kyrgyz(kyrgyz_words(n)) == n


@given(st.integers(min_value=1, max_value=LIMIT - 1))
def test_kyrgyz_words_name_scales_from_the_largest_down_each_once(n: int) -> None:
    words = kyrgyz_words(n).split()
    scales = [SCALE_OF[w] for w in words if w in SCALE_OF]
    assert scales == sorted(scales, reverse=True)
    assert len(scales) == len(set(scales))
    assert ZERO not in words
    # within a group: at most one hundreds word, one tens word, one unit word, in that order
    for group in re.split("|".join(SCALES[1:]), " ".join(words)):
        kinds = [
            "h" if w == HUNDRED else "t" if w in TENS else "u"
            for w in group.split()
            if w not in SCALE_OF
        ]
        if kinds[:2] == ["u", "h"]:  # «эки жүз»: the unit multiplies the hundred
            kinds = kinds[1:]
        order = {"h": 0, "t": 1, "u": 2}
        ranks = [order[k] for k in kinds]
        assert ranks == sorted(set(ranks))


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "нөл"),
        (7, "жети"),
        (15, "он беш"),
        (100, "жүз"),
        (340, "үч жүз кырк"),
        (1000, "бир миң"),
        (2026, "эки миң жыйырма алты"),
        (1_250_000, "бир миллион эки жүз элүү миң"),
        (90_000_000_001, "токсон миллиард бир"),
    ],
)
def test_kyrgyz_words_of_known_numbers(n: int, words: str) -> None:
    assert kyrgyz_words(n) == words


def test_kyrgyz_words_refuse_numbers_outside_the_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        kyrgyz_words(-1)
    with pytest.raises(ValueError, match="outside"):
        kyrgyz_words(LIMIT)


@pytest.mark.parametrize(
    ("minor", "lang", "words"),
    [
        (125_000_050, "ky", "Бир миллион эки жүз элүү миң сом 50 тыйын"),
        (125_000_050, "ru", "Один миллион двести пятьдесят тысяч сомов 50 тыйынов"),
        (100, "ru", "Один сом 00 тыйынов"),
        (302, "ru", "Три сома 02 тыйына"),
        (1_100, "ru", "Одиннадцать сомов 00 тыйынов"),
        (125_000_050, "en", "One million, two hundred and fifty thousand soms 50 tyiyns"),
        (101, "en", "One som 01 tyiyn"),
    ],
)
def test_amounts_in_words(minor: int, lang: str, words: str) -> None:
    assert money_words(minor, "KGS", lang) == words


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "1,250,000.50 KGS"),
        ("ru", "1\u00a0250\u00a0000,50 KGS"),
        ("ky", "1\u00a0250\u00a0000,50 KGS"),
    ],
)
def test_money_in_figures(lang: str, text: str) -> None:
    assert money(125_000_050, "KGS", lang) == text


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_phrase_has_all_three_languages_with_the_same_placeholders() -> None:
    assert LANGS == ("en", "ru", "ky")
    for key, texts in TEXTS.items():
        assert len(texts) == 3, key
        assert all(t.strip() for t in texts), key
        assert _fields(texts[0]) == _fields(texts[1]) == _fields(texts[2]), key
        if key not in {
            "grant",
            "tranche",
            "period",
            "rank",
            "ranking",
            "criterion",
            "kind_reversal",
            "entry_kind",
            "lottery",
            "quotas",
        }:
            # a Kyrgyz phrase is not the Russian one (a forgotten translation)
            assert texts[2] != texts[1] or texts[1] == texts[0], key


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def test_the_fetcher_refuses_the_network_and_files_outside_the_static_folder() -> None:
    fetcher = static_only_fetcher()
    for url in (
        "http://127.0.0.1:9/x.png",
        "https://example.org/a.css",
        "file:///etc/hostname",
        (STATIC / ".." / "render.py").resolve().as_uri(),
        "ftp://127.0.0.1/x",
    ):
        with pytest.raises(ValueError, match=r"disallowed|static files|network"):
            fetcher.fetch(url)
    css = fetcher.fetch((STATIC / "print.css").as_uri())
    assert b"@page" in css.read()
    assert fetcher.fetch("data:text/plain;base64,b2s=").read() == b"ok"


def test_a_document_referring_to_the_network_renders_without_fetching_it() -> None:
    from weasyprint import HTML

    _Counter.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/leak"
    html = (
        f'<link rel="stylesheet" href="{url}.css"><link rel="stylesheet" href="file:///etc/hostname">'
        f'<p>ң ө ү</p><img src="{url}.png" alt=""><img src="file:///etc/passwd" alt="">'
    )
    try:
        pdf = HTML(string=html, base_url=STATIC.as_uri() + "/", url_fetcher=static_only_fetcher())
        content = pdf.write_pdf()
    finally:
        server.shutdown()
    assert content.startswith(b"%PDF")
    assert _Counter.hits == []
    # the same page with WeasyPrint's default fetcher does reach the server: the test can fail
    server = HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/leak"
        HTML(string=f'<img src="{url}.png" alt="">').write_pdf()
    finally:
        server.shutdown()
    assert _Counter.hits == ["/leak.png"]
