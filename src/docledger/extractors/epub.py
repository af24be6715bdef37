"""EPUB books (EPUB 2 and 3): the text of their content documents in reading order.

An EPUB is a zip package (``docledger.extractors.package``: zip bombs and DTDs refused where
XML is parsed) whose ``META-INF/container.xml`` names the package document (``.opf``). Its
``spine`` lists the content documents (XHTML) in reading order; each is read as a browser
shows it (``docledger.extractors.html``: its own parser, which expands no entity a file
declares) and becomes sections at its headings, then chunks.

- ``page_number`` is the content document's place in the reading order (1, 2, ...): a book
  has no pages of its own, and a citation then names the chapter file, as a slide's number
  names the slide; ``metadata.part`` is that file's name in the package.
- A document the spine names again (Live Systems' manual names its files once per
  fragment) is read once, where it first stands.
- Documents the spine marks ``linear="no"`` (notes, answers, a cover) are read where the
  spine puts them, with ``metadata.linear`` false.
- The book's title, authors and language (Dublin Core in the package document) are in each
  section's metadata.
- A package without ``container.xml`` (some tools leave it out), or whose container names a
  file it lacks, is read by its one ``.opf``; a package document without its namespace (as
  some EPUB 2 tools write it) is read all the same, and hrefs are matched as reading
  systems match them (percent-encoded, with backslashes, in another letter case).
- Content documents encrypted with DRM (``META-INF/encryption.xml``) cannot be read: a book
  whose every document is encrypted is refused saying so; fonts obfuscated as EPUB allows
  are no text anyway. Documents the spine names but the package lacks are skipped and
  counted (``metadata.parts_missing`` of the first section).
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from docledger.errors import InvalidInput
from docledger.extractors.html import page_text
from docledger.extractors.package import MOST_BYTES, opened, part
from docledger.extractors.svg import local_name
from docledger.extractors.text import TextExtractor, sectioned
from docledger.schemas.extraction import SegmentIn

ENC = "{http://www.w3.org/2001/04/xmlenc#}"
WHAT = "EPUB book"
#: Content documents' media types (EPUB 2 allowed HTML's too; both are read the same way).
CONTENT_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/html",
                           "text/x-oeb1-document"})  # fmt: skip
#: Font obfuscation algorithms EPUB defines (IDPF's, Adobe's): they hide fonts, not text.
FONT_ALGORITHMS = frozenset(
    {"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"}
)
#: Content documents read from one book.
MOST_PARTS = 10_000


@dataclass(frozen=True)
class Item:
    """One content document of the spine."""

    name: str  # its name in the zip
    linear: bool


def _named(root: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    """Elements of this local name, in any namespace or none: tools that write EPUB 2 leave
    the package document's namespace out, or prefix it."""
    return [e for e in root.iter() if local_name(e.tag) == name]


def _package_document(archive: zipfile.ZipFile, names: dict[str, str]) -> str:
    """The package document's name: the container's first rootfile the book holds, else its
    one .opf."""
    container = part(archive, "META-INF/container.xml", WHAT)
    for rootfile in [] if container is None else _named(container, "rootfile"):
        path = rootfile.get("full-path", "")
        kind = rootfile.get("media-type", "application/oebps-package+xml").strip().lower()
        found = _member(names, "", path) if path else None
        if found is not None and kind == "application/oebps-package+xml":
            return found
    packages = sorted({n for n in names.values() if n.lower().endswith(".opf")})
    if len(packages) == 1:
        return packages[0]
    said = (
        "it has no META-INF/container.xml"
        if container is None
        else "its META-INF/container.xml names no package document it holds"
    )
    held = f", and it holds {len(packages)} .opf files" if packages else ""
    raise InvalidInput(f"cannot read the {WHAT}: {said}{held}")


def _member(names: dict[str, str], folder: str, href: str) -> str | None:
    """The zip member an href relative to the package document names (hrefs are URLs:
    percent-encoded, perhaps with a fragment; some tools write backslashes, or another
    letter case than the file's), or None when the package lacks it. ``names``: every
    member's name by itself and by its name in lower case."""
    href = href.split("#", 1)[0]
    for candidate in (unquote(href), href):
        slashed = candidate.replace("\\", "/")
        name = posixpath.normpath(posixpath.join(folder, slashed)).lstrip("/")
        found = names.get(name) or names.get(name.lower())
        if found is not None:
            return found
    return None


def _encrypted(archive: zipfile.ZipFile) -> set[str]:
    """Members encrypted other than by font obfuscation (DRM)."""
    root = part(archive, "META-INF/encryption.xml", WHAT)
    hidden: set[str] = set()
    for data in [] if root is None else _named(root, "EncryptedData"):
        method = data.find(f"{ENC}EncryptionMethod")
        reference = data.find(f"{ENC}CipherData/{ENC}CipherReference")
        if reference is None or (
            method is not None and method.get("Algorithm", "") in FONT_ALGORITHMS
        ):
            continue
        hidden.add(unquote(reference.get("URI", "")).lstrip("/"))
    return hidden


def _book(package: ElementTree.Element) -> dict[str, Any]:
    """Title, authors and language from the package document's Dublin Core."""

    def texts(tag: str) -> list[str]:
        return [" ".join("".join(e.itertext()).split()) for e in _named(package, tag)]

    book: dict[str, Any] = {}
    titles = [t for t in texts("title") if t]
    if titles:
        book["title"] = titles[0][:500]
    authors = [a[:200] for a in texts("creator") if a][:20]
    if authors:
        book["authors"] = authors
    languages = [lang[:35] for lang in texts("language") if lang]
    if languages:
        book["language"] = languages[0]
    return book


def _spine(
    package: ElementTree.Element, names: dict[str, str], folder: str
) -> tuple[list[Item], int]:
    """The content documents in reading order, and how many the package lacks."""
    manifest = {
        item.get("id", ""): (item.get("href", ""), item.get("media-type", "").lower())
        for item in _named(package, "item")
    }
    spines = _named(package, "spine")
    if not spines:
        raise InvalidInput(f"cannot read the {WHAT}: its package document has no spine")
    items: list[Item] = []
    missing = 0
    seen: set[str] = set()
    for ref in _named(spines[0], "itemref"):
        href, kind = manifest.get(ref.get("idref", ""), ("", ""))
        if kind.split(";")[0].strip() not in CONTENT_TYPES:
            continue  # an image or SVG page: no text to read
        name = _member(names, folder, href) if href else None
        if name is None:
            missing += 1
            continue
        if name not in seen:
            seen.add(name)
            items.append(Item(name, ref.get("linear", "yes").strip().lower() != "no"))
    return items[:MOST_PARTS], missing


class EpubExtractor(TextExtractor):
    """EPUB books (``application/epub+zip``): the spine's content documents in reading
    order, a ``section`` per heading and ``chunk``s, ``page_number`` the document's place in
    the reading order (see ``docledger.extractors.epub``)."""

    name: str = "epub"
    version: str = "1"
    media_types: tuple[str, ...] = ("application/epub+zip",)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[SegmentIn]:
        values = self.check(params)
        with opened(data, WHAT) as archive:
            listed = archive.namelist()
            # by name, else by name in lower case (the first of those that differ in case)
            names = {**{n.lower(): n for n in reversed(listed)}, **{n: n for n in listed}}
            opf = _package_document(archive, names)
            package = part(archive, opf, WHAT)
            assert package is not None, "a name the package holds"
            items, missing = _spine(package, names, posixpath.dirname(opf))
            hidden = _encrypted(archive)
            readable = [item for item in items if item.name not in hidden]
            if items and not readable:
                raise InvalidInput(
                    f"cannot read the {WHAT}: its content documents are encrypted (DRM)"
                )
            if not readable:
                raise InvalidInput(
                    f"cannot read the {WHAT}: its spine names no content document it holds"
                )
            texts = []
            for item in readable:
                info = archive.getinfo(item.name)
                if info.file_size > MOST_BYTES:
                    raise InvalidInput(
                        f"cannot read the {WHAT}: {item.name} inflates to {info.file_size} bytes"
                    )
                texts.append(page_text(archive.read(info)))
        return _segments(readable, texts, _book(package), missing + len(items) - len(readable),
                         values)  # fmt: skip


def _segments(
    items: list[Item],
    texts: list[tuple[str, str, list[tuple[int, str]], str]],
    book: dict[str, Any],
    missing: int,
    values: Mapping[str, Any],
) -> list[SegmentIn]:
    """One text of every document (a blank line between), sectioned at each document's
    start and headings; each segment is then given its document's place and name."""
    pieces: list[str] = []
    marks: list[tuple[int, str]] = []
    starts: list[int] = []
    at = 0
    for text, title, headings, _encoding in texts:
        starts.append(at)
        if not headings or (headings[0][0] > 0 and text[: headings[0][0]].strip()):
            marks.append((at, title))
        marks.extend((at + offset, heading) for offset, heading in headings)
        pieces.append(text + "\n\n")
        at += len(text) + 2
    segments = sectioned("".join(pieces), marks, values["chunk_size"], values["chunk_overlap"],
                         book)  # fmt: skip
    document = 0
    for segment in segments:
        start = segment.metadata.get("start", 0)
        while document + 1 < len(starts) and starts[document + 1] <= start:
            document += 1
        item = items[document]
        segment.page_number = document + 1
        segment.metadata["part"] = item.name
        if not item.linear:
            segment.metadata["linear"] = False
    if missing and segments:
        segments[0].metadata["parts_missing"] = missing
    return segments
