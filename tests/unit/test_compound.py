"""Password-protected Office 2007+ files (oletools' encrypted .docx, .xlsx, .xlsb, .pptx and
their macro forms) are compound files holding an EncryptedPackage: recognised as such with
or without their name, and refused saying they are encrypted, where they were skipped as
unknown compound files (or, named .docx, taken for a broken zip)."""

from __future__ import annotations

import pytest

from docledger.errors import InvalidInput
from docledger.extractors import EncryptedPackageExtractor, for_media_type
from docledger.extractors.compound import ENCRYPTED_PACKAGE
from docledger.services.media import ole_kind, sniff
from tests.corpus import fetched, real_encrypted_ooxml


def test_encrypted_office_files_are_recognised_and_refused_saying_why() -> None:
    files = fetched(real_encrypted_ooxml, "encrypted-Office")
    assert len(files) >= 10
    for path in files:
        data = path.read_bytes()
        assert ole_kind(data) == ENCRYPTED_PACKAGE, path.name
        kind = sniff(data[:4096], path.name)
        assert kind in {ENCRYPTED_PACKAGE, "application/x-ole-storage"}, path.name
        extractor = for_media_type(ENCRYPTED_PACKAGE)
        assert isinstance(extractor, EncryptedPackageExtractor)
        with pytest.raises(InvalidInput, match="encrypted with a password"):
            extractor.extract(data, {})
    with pytest.raises(InvalidInput, match="takes no param"):
        EncryptedPackageExtractor().check({"password": "x"})
