"""Real-world PDFs nobody on this project wrote: the test files shipped in the source
distributions of pikepdf (qpdf's and its own: encrypted, broken, CJK, scanned, odd names) and
pdfminer.six 20191110 (its samples: forms, papers, encrypted with AES and RC4).

Downloaded once with pip (``pip download --no-binary :all: --no-deps``) into a cache folder
(``DOCLEDGER_TEST_CORPUS`` or ``~/.cache/docledger/test-corpus``) and unpacked there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

SDISTS = ("pikepdf==10.18.0", "pdfminer.six==20191110")
#: The user password of pdfminer.six's encrypted samples (its own tests use it).
SAMPLE_PASSWORD = "foo"


def corpus_dir() -> Path:
    root = os.environ.get("DOCLEDGER_TEST_CORPUS")
    return Path(root) if root else Path.home() / ".cache" / "docledger" / "test-corpus"


def real_pdfs() -> list[Path]:
    """Every PDF of the two source distributions, fetched and unpacked on first use."""
    root = corpus_dir()
    done = root / ".complete"
    if not done.exists():
        archives = root / "sdists"
        archives.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--disable-pip-version-check",
                "-d",
                str(archives),
                *SDISTS,
            ],
            check=True,
            capture_output=True,
        )
        for archive in sorted(archives.glob("*.tar.gz")):
            target = root / "pdfs" / archive.name.removesuffix(".tar.gz")
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.lower().endswith(".pdf"):
                        name = member.name.replace("/", "__")
                        source = tar.extractfile(member)
                        assert source is not None
                        (target / name).write_bytes(source.read())
        done.write_text("ok\n")
    return sorted((root / "pdfs").rglob("*.pdf"))
