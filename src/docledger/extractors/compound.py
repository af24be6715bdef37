"""OLE compound files, the container of Office 97-2003 files and Outlook messages.

Opened with ``olefile`` and read stream by stream. A damaged file can fail anywhere: in
olefile while it reads the file's directory or a stream, or in a format's own reader while
it walks binary records that are shorter or longer than they say. Every such failure inside
``opened`` is one ``InvalidInput`` naming the format ("cannot read the Excel 97-2003
workbook: ..."), so a batch records it and goes on.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from docledger.errors import InvalidInput
from docledger.extractors.base import Param, check_params

#: The signature every OLE compound file starts with.
SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: What olefile and a record walker raise on bytes that do not add up.
BROKEN = (OSError, ValueError, IndexError, EOFError, KeyError, struct.error, RecursionError)


def refused(what: str, why: str) -> InvalidInput:
    return InvalidInput(f"cannot read the {what}: {why}")


@contextmanager
def opened(data: bytes, what: str) -> Iterator[Any]:
    """The compound file, open for the block; whatever breaks inside it is refused."""
    import olefile  # noqa: PLC0415 - only compound files pay for the import

    if not data.startswith(SIGNATURE):
        raise refused(what, "it is not an OLE compound file")
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except BROKEN as exc:
        raise refused(what, str(exc) or type(exc).__name__) from exc
    try:
        yield ole
    except InvalidInput:
        raise
    except BROKEN as exc:
        raise refused(what, str(exc) or type(exc).__name__) from exc
    finally:
        ole.close()


def stream(ole: Any, name: str, what: str) -> bytes:
    """A stream's bytes, or a refusal naming the stream the format needs."""
    if not ole.exists(name):
        raise refused(what, f"it has no {name} stream")
    return bytes(ole.openstream(name).read())


ENCRYPTED_PACKAGE = "application/x-ms-encrypted-package"


class EncryptedPackageExtractor:
    """A password-protected Word, Excel or PowerPoint file (2007 or later): the package is
    an ``EncryptedPackage`` stream inside a compound file, unreadable without the password.
    Refused with a message saying so, where it would otherwise be skipped as an unknown
    compound file."""

    name: str = "encrypted-package"
    version: str = "1"
    media_types: tuple[str, ...] = (ENCRYPTED_PACKAGE,)
    params: dict[str, Param] = {}

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_params(self.params, params, self.name)

    def extract(self, data: bytes, params: Mapping[str, Any]) -> list[Any]:
        raise InvalidInput(
            "cannot read the Office file: it is encrypted with a password (save it without "
            "one, then add it again)"
        )
