"""EPUB books: every content document of the spine read in reading order, checked against
lxml reading the same books by the format's own rules (container, package document, spine),
on 13 real books of Debian's packages; then what broken and hostile books do."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import lxml.etree
import lxml.html
import pytest

from docledger.errors import InvalidInput
from docledger.extractors import EpubExtractor, for_media_type
from docledger.extractors import epub as epub_module
from docledger.services.media import sniff
from tests.corpus import fetched, real_epubs

OPF = "{http://www.idpf.org/2007/opf}"
DC = "{http://purl.org/dc/elements/1.1/}"
_WORD = re.compile(r"\w+")
BLOCKS = ("p", "div", "br", "li", "tr", "td", "th", "dt", "dd", "pre", "h1", "h2", "h3", "h4",
          "h5", "h6", "table", "ul", "ol", "dl", "blockquote", "section", "hr")  # fmt: skip


@pytest.fixture(scope="module")
def books() -> list[Path]:
    return fetched(real_epubs, "EPUB")


def _spine_truth(data: bytes) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """(zip name, words of its body) per content document in spine order (once: the Live
    manual's spine names its files again and again, by fragments), and the book's title and
    language, as lxml reads them."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = set(book.namelist())
        if "META-INF/container.xml" in names:
            container = lxml.etree.fromstring(book.read("META-INF/container.xml"))
            opf = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
        else:
            (opf,) = [n for n in names if n.endswith(".opf")]
        package = lxml.etree.fromstring(book.read(opf))
        manifest = {i.get("id"): i for i in package.iter(f"{OPF}item")}
        out = []
        for ref in package.iter(f"{OPF}itemref"):
            item = manifest[ref.get("idref")]
            if item.get("media-type") != "application/xhtml+xml":
                continue
            href = unquote(item.get("href").split("#")[0])
            name = posixpath.normpath(posixpath.join(posixpath.dirname(opf), href))
            if name in [n for n, _ in out]:
                continue
            tree = lxml.html.document_fromstring(book.read(name))
            for hidden in tree.xpath("//script|//style|//head"):
                hidden.drop_tree()
            for block in tree.iter(*BLOCKS):  # words end where blocks do, not at inline tags
                block.tail = " " + (block.tail or "")
                block.text = " " + (block.text or "")
            body = "".join(tree.itertext())
            out.append((name, _WORD.findall(body)))
        meta = {
            "title": package.findtext(f".//{DC}title").strip(),
            "language": package.findtext(f".//{DC}language").strip(),
        }
    return out, meta


def _in_order(want: list[str], text: str) -> bool:
    """Whether the words of ``want`` occur in ``text``'s words in this order."""
    words = iter(_WORD.findall(text))
    return all(any(w == got for got in words) for w in want)


def test_every_book_reads_every_content_document_in_reading_order(books: list[Path]) -> None:
    assert len(books) == 13
    for path in books:
        data = path.read_bytes()
        assert sniff(data, path.name) == "application/epub+zip", path.name
        assert sniff(data, None) == "application/epub+zip", path.name  # by content alone
        assert sniff(data, "book.zip") == "application/epub+zip", path.name
        extractor = for_media_type("application/epub+zip")
        assert isinstance(extractor, EpubExtractor)
        segments = extractor.extract(data, {})
        truth, meta = _spine_truth(data)
        sections = [s for s in segments if s.kind == "section"]
        assert sections[0].metadata["title"] == meta["title"], path.name
        assert sections[0].metadata["language"] == meta["language"], path.name
        # every content document, in the spine's order, its place as the page number
        parts = {s.metadata["part"]: s.page_number for s in segments}
        assert parts == {name: n for n, (name, _) in enumerate(truth, start=1) if _}, path.name
        numbers = [s.page_number for s in segments]
        assert numbers == sorted(numbers), path.name
        for name, words in truth:
            text = "\n".join(s.text or "" for s in sections if s.metadata["part"] == name)
            assert _WORD.findall(text) == words, (path.name, name)
        # (the words being equal, no tag or attribute was read as text); chunks hold their
        # section's text
        for segment in segments:
            if segment.kind == "chunk":
                parent = segments[segment.parent]  # type: ignore[index]
                assert (segment.text or "") in (parent.text or "")
                assert parent.page_number == segment.page_number


def test_a_japanese_book_keeps_its_script(books: list[Path]) -> None:
    (japanese,) = [p for p in books if p.name.endswith(".ja.epub")]
    segments = EpubExtractor().extract(japanese.read_bytes(), {})
    text = "".join(s.text or "" for s in segments if s.kind == "section")
    assert "Live システムマニュアル" in text
    assert len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text)) > 10_000


def _book(
    spine: list[tuple[str, str, str]],
    files: dict[str, bytes],
    *,
    container: bool = True,
    mimetype: bool = True,
    extra: dict[str, bytes] | None = None,
    opf_head: str = "",
) -> bytes:
    """A small EPUB: ``spine`` as (id, href, linear) naming XHTML items, ``files`` the
    members under OEBPS/."""
    items = "".join(
        f'<item id="{i}" href="{h}" media-type="application/xhtml+xml"/>' for i, h, _ in spine
    )
    refs = "".join(f'<itemref idref="{i}" linear="{lin}"/>' for i, _, lin in spine)
    opf = (
        f'<?xml version="1.0"?>{opf_head}<package xmlns="http://www.idpf.org/2007/opf" '
        'version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<dc:title>A &amp; B</dc:title><dc:creator>Ada</dc:creator><dc:language>en"
        f"</dc:language></metadata><manifest>{items}</manifest><spine>{refs}</spine>"
        "</package>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        if mimetype:
            z.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        if container:
            z.writestr(
                "META-INF/container.xml",
                '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:'
                'opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/'
                'content.opf" media-type="application/oebps-package+xml"/></rootfiles>'
                "</container>",
            )
        z.writestr("OEBPS/content.opf", opf)
        for name, body in files.items():
            z.writestr(f"OEBPS/{name}", body)
        for name, body in (extra or {}).items():
            z.writestr(name, body)
    return out.getvalue()


def _page(title: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN"'
        ' "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n<html xmlns="http://www.w3.org/1999/'
        f'xhtml"><head><title>{title}</title><style>p {{color: red}}</style></head><body>'
        f"{body}</body></html>"
    ).encode()


def _parts(segments: list[Any]) -> list[tuple[int | None, str, str]]:
    return [(s.page_number, s.metadata["part"], s.text) for s in segments if s.kind == "section"]


def test_reading_order_is_the_spines_not_the_zips() -> None:
    data = _book(
        [("b", "ch%202.xhtml", "yes"), ("a", "ch1.xhtml", "yes"), ("n", "notes.xhtml", "no")],
        {
            "ch1.xhtml": _page("One", "<h1>First</h1><p>alpha &lt;b&gt; beta</p>"),
            "ch 2.xhtml": _page("Two", "<p>opening words</p><h2>Second</h2><p>gamma</p>"),
            "notes.xhtml": _page("Notes", "<p>a footnote</p>"),
        },
    )
    segments = EpubExtractor().extract(data, {})
    assert _parts(segments) == [
        (1, "OEBPS/ch 2.xhtml", "opening words"),
        (1, "OEBPS/ch 2.xhtml", "Second\n\ngamma"),
        (2, "OEBPS/ch1.xhtml", "First\n\nalpha <b> beta"),
        (3, "OEBPS/notes.xhtml", "a footnote"),
    ]
    sections = [s for s in segments if s.kind == "section"]
    assert [s.label for s in sections] == ["Two", "Second", "First", "Notes"]
    assert sections[0].metadata["title"] == "A & B"
    assert sections[0].metadata["authors"] == ["Ada"]
    assert sections[3].metadata["linear"] is False
    assert "linear" not in sections[0].metadata
    assert "parts_missing" not in sections[0].metadata


def test_a_book_without_its_container_or_mimetype_is_read_by_its_package_document() -> None:
    data = _book([("a", "a.xhtml", "yes")], {"a.xhtml": _page("A", "<p>text</p>")},
                 container=False, mimetype=False)  # fmt: skip
    assert sniff(data, "a.epub") == "application/epub+zip"
    assert _parts(EpubExtractor().extract(data, {})) == [(1, "OEBPS/a.xhtml", "text")]


def test_documents_the_package_lacks_are_counted_the_rest_read() -> None:
    data = _book(
        [("a", "a.xhtml", "yes"), ("gone", "gone.xhtml", "yes")],
        {"a.xhtml": _page("A", "<p>kept</p>")},
    )
    segments = EpubExtractor().extract(data, {})
    assert _parts(segments) == [(1, "OEBPS/a.xhtml", "kept")]
    assert segments[0].metadata["parts_missing"] == 1


def _encryption(algorithm: str, uri: str) -> bytes:
    return (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc='
        '"http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
        f'Algorithm="{algorithm}"/><enc:CipherData><enc:CipherReference URI="{uri}"/>'
        "</enc:CipherData></enc:EncryptedData></encryption>"
    ).encode()


def test_drm_is_refused_and_obfuscated_fonts_are_not_text() -> None:
    files = {"a.xhtml": _page("A", "<p>words</p>")}
    drm = _book([("a", "a.xhtml", "yes")], files, extra={
        "META-INF/encryption.xml": _encryption("http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                                               "OEBPS/a.xhtml")})  # fmt: skip
    with pytest.raises(InvalidInput, match=r"encrypted \(DRM\)"):
        EpubExtractor().extract(drm, {})
    fonts = _book([("a", "a.xhtml", "yes")], files, extra={
        "META-INF/encryption.xml": _encryption("http://www.idpf.org/2008/embedding",
                                               "OEBPS/a.xhtml")})  # fmt: skip
    assert _parts(EpubExtractor().extract(fonts, {})) == [(1, "OEBPS/a.xhtml", "words")]


DTD_BOOK = _book(
    [("a", "a.xhtml", "yes")],
    {"a.xhtml": b"<p>x</p>"},
    opf_head='<!DOCTYPE package [<!ENTITY x "xx">]>',
)
TWO_PACKAGES = _book(
    [("a", "a.xhtml", "yes")],
    {"a.xhtml": b"x"},
    container=False,
    extra={"OEBPS/other.opf": b"<package/>"},
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not really a zip", "not a readable zip file"),
        (_book([("a", "a.xhtml", "yes")], {}), "names no content document it holds"),
        (_book([], {}), "names no content document it holds"),
        (DTD_BOOK, "declares a DTD"),
        (TWO_PACKAGES, "2 .opf files"),
    ],
    ids=["not-a-zip", "spine-names-a-missing-file", "empty-spine", "dtd", "two-packages"],
)
def test_broken_or_hostile_books_are_refused_saying_why(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        EpubExtractor().extract(data, {})


def test_a_content_document_that_inflates_past_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _book([("a", "a.xhtml", "yes")], {"a.xhtml": _page("A", "<p>" + "x" * 5000 + "</p>")})
    monkeypatch.setattr(epub_module, "MOST_BYTES", 4096)
    with pytest.raises(InvalidInput, match="inflates to"):
        EpubExtractor().extract(data, {})


def test_entities_a_content_document_declares_are_not_expanded() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<html><body><p>&b;&b;</p><p>after</p></body></html>"
    )
    data = _book([("a", "a.xhtml", "yes")], {"a.xhtml": laughs})
    text = " ".join(t for _, _, t in _parts(EpubExtractor().extract(data, {})))
    assert "hahaha" not in text
    assert "after" in text


def test_package_documents_and_hrefs_as_tools_really_write_them() -> None:
    """A package document without its namespace, hrefs with backslashes and in another
    letter case than the files, a container naming a file the book lacks, and an OEB 1
    content type: read as reading systems read them."""
    opf = (
        '<?xml version="1.0"?><package version="2.0"><metadata><title>Plain</title>'
        "<language>pt</language></metadata><manifest>"
        '<item id="a" href="Text\\One.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="b" href="text/TWO.XHTML" media-type="text/x-oeb1-document"/>'
        '</manifest><spine><itemref idref="a"/><itemref idref="b"/></spine></package>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/epub+zip")
        z.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OPS/gone.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        z.writestr("OEBPS/book.opf", opf)
        z.writestr("OEBPS/Text/One.xhtml", _page("1", "<p>primeiro</p>"))
        z.writestr("OEBPS/Text/two.xhtml", _page("2", "<p>segundo</p>"))
    segments = EpubExtractor().extract(out.getvalue(), {})
    assert _parts(segments) == [
        (1, "OEBPS/Text/One.xhtml", "primeiro"),
        (2, "OEBPS/Text/two.xhtml", "segundo"),
    ]
    assert segments[0].metadata["title"] == "Plain"
    assert segments[0].metadata["language"] == "pt"


def test_of_two_files_differing_in_case_the_one_named_exactly_is_read() -> None:
    data = _book(
        [("a", "ch.xhtml", "yes")],
        {"CH.xhtml": _page("upper", "<p>wrong</p>"), "ch.xhtml": _page("lower", "<p>right</p>")},
    )
    assert _parts(EpubExtractor().extract(data, {})) == [(1, "OEBPS/ch.xhtml", "right")]
