"""Office files as what they are: zip packages of XML parts (DOCX, PPTX, OpenDocument).

Read with the standard library (zipfile, ElementTree), so no dependency comes with them. Two
attacks are refused before any XML is parsed: a part that inflates past ``MOST_BYTES`` (a zip
bomb) and a part declaring a DTD, which no office suite writes and which is how entity
expansion ("billion laughs") gets in. Everything a broken package can raise while being read
becomes one ``InvalidInput`` naming the format.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO
from xml.etree import ElementTree

from docledger.errors import InvalidInput

#: Largest XML part read (decompressed): a zip bomb is refused, not inflated.
MOST_BYTES = 256 * 1024 * 1024
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@contextmanager
def opened(data: bytes, what: str) -> Iterator[zipfile.ZipFile]:
    """The package, with every way reading it can fail said as "cannot read the <what>"."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            yield archive
    except InvalidInput:
        raise  # already said (it is a ValueError too)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error) as exc:
        raise InvalidInput(f"cannot read the {what}: not a readable zip file ({exc})") from exc
    except LookupError as exc:  # an XML declaration naming an encoding Python does not know
        raise InvalidInput(f"cannot read the {what}: {exc}") from exc
    except ElementTree.ParseError as exc:
        raise InvalidInput(f"cannot read the {what}: broken XML ({exc})") from exc
    except (RuntimeError, NotImplementedError, ValueError) as exc:  # encrypted, odd compression
        raise InvalidInput(f"cannot read the {what}: {exc}") from exc


def part(archive: zipfile.ZipFile, name: str, what: str) -> ElementTree.Element | None:
    """One XML part, parsed, or None when the package has no such part."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MOST_BYTES:
        raise InvalidInput(f"cannot read the {what}: {name} inflates to {info.file_size} bytes")
    xml = archive.read(info)
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise InvalidInput(f"cannot read the {what}: {name} declares a DTD")
    return ElementTree.fromstring(xml)  # noqa: S314 - no DTD, so no entities to expand


class _Checked:
    """A part read as a stream, refused the moment a DTD shows up in it (the check ``part``
    makes on a whole part, made chunk by chunk with an overlap for a marker cut in two)."""

    def __init__(self, raw: IO[bytes], name: str, what: str) -> None:
        self.raw, self.name, self.what, self.tail = raw, name, what, b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(size)
        seen = self.tail + chunk
        if b"<!DOCTYPE" in seen or b"<!ENTITY" in seen:
            raise InvalidInput(f"cannot read the {self.what}: {self.name} declares a DTD")
        self.tail = seen[-8:]
        return chunk

    def close(self) -> None:
        self.raw.close()


@contextmanager
def streamed(archive: zipfile.ZipFile, name: str, what: str) -> Iterator[_Checked]:
    """A big part (a worksheet) to parse incrementally, with ``part``'s checks."""
    info = archive.getinfo(name)
    if info.file_size > MOST_BYTES:
        raise InvalidInput(f"cannot read the {what}: {name} inflates to {info.file_size} bytes")
    stream = _Checked(archive.open(info), name, what)
    try:
        yield stream
    finally:
        stream.close()


def relations(archive: zipfile.ZipFile, source: str, what: str) -> dict[str, tuple[str, str]]:
    """An OOXML part's relationships: id -> (type's last word, the target part's name).
    Targets outside the package (hyperlinks) are left out."""
    folder, name = posixpath.split(source)
    root = part(archive, posixpath.join(folder, "_rels", f"{name}.rels"), what)
    out: dict[str, tuple[str, str]] = {}
    for rel in [] if root is None else root.iter(f"{RELS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
    return out
