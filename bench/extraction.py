"""Extraction benchmarks (issue 12). Each part measures docledger and its baselines in one run.

layout    pages/s of ``ledger.extractions.run`` (PDFium layout, chunks, recorded in the
          database; SQLite and PostgreSQL) over the planted-fact PDFs (tests/planted.py), vs
          raw pypdfium2 doing the same character -> line grouping with no storage (the limit)
          and pdfplumber's ``extract_words`` (what a user reaches for); rounds alternate.
ocr       pages/s of OCR at 144 dpi on 2 cores (image-only PDF pages through the pdf
          extractor's ``ocr="auto"``), and the character error rate against the drawn text.
rss       peak RSS of a process extracting one 500-page PDF into SQLite.
pipeline  the README pipeline (add -> extract -> embed) over 1,000 planted-fact files: files/s
          cold, the unchanged re-run, text-search p50 and the share of questions whose fact
          is in the top 10 (text and hybrid), on SQLite and PostgreSQL.

    python bench/extraction.py layout|ocr|rss|pipeline [--dialect sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
import pdfplumber  # noqa: E402 - after the path set-up above
import pypdfium2 as pdfium  # noqa: E402
from common import fresh_pg_database, median, percentile, write  # noqa: E402
from PIL import Image  # noqa: E402
from pypdfium2 import raw  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from tests.planted import FILLER, Fact, edit_distance  # noqa: E402
from tests.planted import write as write_corpus  # noqa: E402

from docledger import Ledger  # noqa: E402
from docledger.config import load_settings  # noqa: E402
from docledger.extractors import PdfExtractor  # noqa: E402
from docledger.extractors import ocr as engine  # noqa: E402


def _ledger(dialect: str, folder: Path, name: str) -> Any:
    url = (
        f"sqlite:///{folder / 'bench.db'}"
        if dialect == "sqlite"
        else fresh_pg_database(f"bench_{name}")
    )
    return Ledger.open(settings=load_settings(db_url=url, blob_root=str(folder / "blobs")))


def _pdfs(folder: Path, files: int) -> list[Path]:
    write_corpus(folder, files * 5 // 3 + 1)
    return sorted(folder.glob("pdf/*.pdf"))[:files]


def raw_pypdfium2(paths: list[Path]) -> int:
    """The limit: every character's code point and loose box read from PDFium, grouped into
    lines (text and box) at PDFium's line breaks, in one tight loop; nothing stored, no
    words, blocks, reading order or chunks."""
    pages = 0
    for path in paths:
        doc = pdfium.PdfDocument(path.read_bytes())
        for page in doc:
            tp = page.get_textpage()
            rect = raw.FS_RECTF()
            lines: list[tuple[str, float, float, float, float]] = []
            chars: list[str] = []
            x0 = y0 = float("inf")
            x1 = y1 = float("-inf")
            for i in range(raw.FPDFText_CountChars(tp.raw)):
                code = raw.FPDFText_GetUnicode(tp.raw, i)
                if code in (10, 13):
                    if chars:
                        lines.append(("".join(chars), x0, y0, x1, y1))
                        chars = []
                        x0 = y0 = float("inf")
                        x1 = y1 = float("-inf")
                    continue
                chars.append(chr(code))
                if code > 32 and raw.FPDFText_GetLooseCharBox(tp.raw, i, rect):
                    x0, x1 = min(x0, rect.left), max(x1, rect.right)
                    y0, y1 = min(y0, rect.bottom), max(y1, rect.top)
            if chars:
                lines.append(("".join(chars), x0, y0, x1, y1))
            tp.close()
            page.close()
            pages += 1
        doc.close()
    return pages


def pdfplumber_words(paths: list[Path]) -> int:
    pages = 0
    for path in paths:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_words()
                pages += 1
    return pages


def layout(dialect: str, files: int = 150, rounds: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = _pdfs(folder / "corpus", files)
        rates: dict[str, list[float]] = {"raw_pypdfium2": [], "docledger": [], "pdfplumber": []}
        pages = 0
        for n in range(rounds):
            start = time.perf_counter()
            pages = raw_pypdfium2(paths)
            rates["raw_pypdfium2"].append(pages / (time.perf_counter() - start))
            (folder / f"db{n}").mkdir(exist_ok=True)
            with _ledger(dialect, folder / f"db{n}", f"layout{n}") as ledger:
                ledger.documents.create_many(paths)
                ids = ledger.extractions.document_ids()
                start = time.perf_counter()
                outcomes = ledger.extractions.run(ids, params={"ocr": "never"})
                took = time.perf_counter() - start
                assert not [o for o in outcomes if o.error]
                rates["docledger"].append(pages / took)
            start = time.perf_counter()
            pdfplumber_words(paths)
            rates["pdfplumber"].append(pages / (time.perf_counter() - start))
        best = {name: max(values) for name, values in rates.items()}
        return {
            "dialect": dialect,
            "files": len(paths),
            "pages": pages,
            "pages_per_s": rates,
            "best_pages_per_s": best,
            "ratio_vs_raw_pypdfium2": best["docledger"] / best["raw_pypdfium2"],
            "ratio_vs_pdfplumber": best["docledger"] / best["pdfplumber"],
            "targets": {"vs_raw": ">= 0.6", "vs_pdfplumber": ">= 3"},
        }


def ocr(pages: int = 6) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = _pdfs(Path(tmp), (pages + 1) // 2)
        images: list[Image.Image] = []
        truth: list[str] = []
        for path in paths:
            doc = pdfium.PdfDocument(path.read_bytes())
            for page in doc:
                images.append(page.render(scale=2).to_pil().convert("RGB"))
                tp = page.get_textpage()
                truth.append(" ".join(tp.get_text_range().split()))
                tp.close()
            doc.close()
        images, truth = images[:pages], truth[:pages]
        scanned = io.BytesIO()
        images[0].save(
            scanned, format="PDF", resolution=144, save_all=True, append_images=images[1:]
        )
        extractor = PdfExtractor()
        extractor.extract(_one_page(images[0]), {})  # loads the model, outside the timing
        start = time.perf_counter()
        segments = extractor.extract(scanned.getvalue(), {})
        took = time.perf_counter() - start
    read = {s["page_number"]: " ".join(s["text"].split()) for s in segments if s["kind"] == "page"}
    errors = sum(edit_distance(read.get(n + 1, ""), want) for n, want in enumerate(truth))
    return {
        "engine": engine.engine_version(),
        "dpi": 144,
        "pages": len(truth),
        "pages_per_s": len(truth) / took,
        "cer": errors / sum(len(t) for t in truth),
    }


def _one_page(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=144)
    return out.getvalue()


RSS_CHILD = """
import resource, sys
from docledger import Ledger
from docledger.config import load_settings
folder = sys.argv[1]
with Ledger.open(settings=load_settings(db_url=f"sqlite:///{folder}/rss.db",
                                        blob_root=f"{folder}/blobs")) as ledger:
    ledger.documents.create(f"{folder}/big.pdf")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (outcome,) = ledger.extractions.run(["big.pdf"], params={"ocr": "never"})
    assert outcome.error is None, outcome.error
    print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, outcome.segments)
"""


def rss(pages: int = 500) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = io.BytesIO()
        c = canvas.Canvas(out, pagesize=A4)
        for n in range(pages):
            text = c.beginText(50, 800)
            text.setFont("Helvetica", 9)
            for line in range(80):
                text.textLine(f"{n}.{line} " + FILLER[(n + line) % len(FILLER)])
            c.drawText(text)
            c.showPage()
        c.save()
        (Path(tmp) / "big.pdf").write_bytes(out.getvalue())
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, tmp], capture_output=True, text=True, check=True
        )
        took = time.perf_counter() - start
    before, peak, segments = (int(v) for v in done.stdout.split())
    return {
        "pages": pages,
        "segments": segments,
        "seconds": took,
        "rss_before_extract_mb": before / 1024,
        "peak_rss_mb": peak / 1024,
        "target_mb": 300,
    }


def pipeline(dialect: str, files: int = 1000, queries: int = 300) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        facts: list[Fact] = write_corpus(folder / "corpus", files)
        (folder / "db").mkdir()
        with _ledger(dialect, folder / "db", "pipeline") as ledger:

            def run() -> tuple[float, float, float]:
                start = time.perf_counter()
                ledger.documents.sync([folder / "corpus"])
                added = time.perf_counter()
                outcomes = ledger.extractions.run(ledger.extractions.document_ids())
                assert not [o for o in outcomes if o.error]
                extracted = time.perf_counter()
                ledger.search.embed_missing()
                return added - start, extracted - added, time.perf_counter() - extracted

            cold = run()
            warm = run()
            sample = facts[:: max(1, len(facts) // queries)]
            latencies, found = [], {"text": 0, "hybrid": 0}
            for fact in sample:
                start = time.perf_counter()
                hits = ledger.search.text(fact.question, k=10)
                latencies.append((time.perf_counter() - start) * 1000)
                found["text"] += _has(hits, fact)
                found["hybrid"] += _has(ledger.search.hybrid(fact.question, k=10), fact)
    return {
        "dialect": dialect,
        "files": files,
        "cold_seconds": {"add": cold[0], "extract": cold[1], "embed": cold[2]},
        "cold_files_per_s": files / sum(cold),
        "unchanged_rerun_seconds": {"add": warm[0], "extract": warm[1], "embed": warm[2]},
        "rerun_speedup": sum(cold) / sum(warm),
        "text_search_ms": {"p50": median(latencies), "p99": percentile(latencies, 99)},
        "top10_hit_rate": {mode: n / len(sample) for mode, n in found.items()},
        "questions": len(sample),
        "targets": {"rerun_speedup": ">= 10", "text_p50_ms": "<= 10", "hit_rate": ">= 0.99"},
    }


def _has(hits: list[Any], fact: Any) -> bool:
    return any(
        h.external_key == fact.key
        and h.page_number == fact.page
        and fact.sentence in " ".join((h.text or "").split())
        for h in hits
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["layout", "ocr", "rss", "pipeline"])
    parser.add_argument("--dialect", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    if args.part == "layout":
        write(f"extraction-layout-{args.dialect}", layout(args.dialect))
    elif args.part == "ocr":
        write("extraction-ocr", ocr())
    elif args.part == "rss":
        write("extraction-rss", rss())
    else:
        write(f"extraction-pipeline-{args.dialect}", pipeline(args.dialect))


if __name__ == "__main__":
    main()
