"""The web UI in a real browser: Debian's Chromium, driven by Playwright, against a real
``docledger serve`` process on loopback, on both dialects.

Set ``DOCLEDGER_SCREENSHOTS=docs/screenshots`` to save the main screens there (the README
shows them)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from docledger import Ledger, load_settings
from docledger.schemas.extraction import SegmentIn

from .served import served

PDF = Path(__file__).resolve().parents[2] / "examples" / "data" / "invoice-and-plan.pdf"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: without the background-networking flags Chromium tries hosts this machine cannot reach
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCRIPT = "<script>alert(1)</script>"


def _browser_or_skip() -> None:
    have = Path(CHROMIUM).exists()
    try:
        import playwright  # noqa: F401, PLC0415
    except ImportError:
        have = False
    if not have:
        if os.environ.get("CI"):
            pytest.fail("CI installs chromium and playwright (.ci/run): the browser test must run")
        pytest.skip("needs Debian's chromium and the playwright package")


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A served store with an editor and a viewer key, and a scanned page whose zones are
    unsure (one holding markup) for the review queue."""
    _browser_or_skip()
    settings = load_settings(db_url=db_url, blob_root=str(tmp_path / "blobs"))
    with Ledger.open(settings=settings) as ledger:
        ledger.users.ensure("ana@example.org")
        editor = ledger.api_keys.create("default", "ana", "editor", actor="ana@example.org")
        viewer = ledger.api_keys.create("default", "guest", "viewer")
        scan = ledger.documents.create(b"zones of a scan", external_key="scan-zones")
        ledger.extractions.record(
            scan.version_id,
            "ocr-zones",
            "1",
            {},
            [
                SegmentIn(kind="page", page_number=1, text="",
                          bbox={"x0": 0, "y0": 0, "x1": 600, "y1": 800}),
                SegmentIn(kind="zone", page_number=1, text="Tota1 due: 1,25O.00", confidence=0.31,
                          bbox={"x0": 40, "y0": 60, "x1": 300, "y1": 90}),
                SegmentIn(kind="zone", page_number=1, text=SCRIPT, confidence=0.42,
                          bbox={"x0": 40, "y0": 120, "x1": 300, "y1": 150}),
            ],
        )  # fmt: skip
    with served(db_url, tmp_path) as base:
        yield {
            "base": base,
            "editor": editor.secret,
            "viewer": viewer.secret,
            "settings": settings,
        }


def _shoot(page: Any, name: str) -> None:
    folder = os.environ.get("DOCLEDGER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _log_in(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=key]", key)
    page.click("form.login button")
    page.wait_for_url(f"{base}/ui/")


def test_the_ui_in_a_browser(site: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    base = site["base"]
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            # a wrong key first, then the editor's
            page.goto(f"{base}/ui/")
            assert page.url == f"{base}/ui/login"
            page.fill("input[name=key]", "dlk_000000000000.wrongwrongwrongwrongwrong")
            page.click("form.login button")
            assert "not valid" in page.inner_text(".error")
            _log_in(page, base, site["editor"])

            # upload the PDF; the viewer draws every segment's box where the page shows it
            page.set_input_files("input[type=file]", str(PDF))
            page.click("form.upload button")
            page.wait_for_url(f"{base}/ui/documents/*")
            page.wait_for_function("document.querySelector('.sheet img').complete")
            with Ledger.open(settings=site["settings"]) as ledger:
                version = ledger.documents.version("invoice-and-plan.pdf")
                segments = {str(s.id): s for s in ledger.segments.of_version(version.id)}
            sizes = {
                s.page_number: (s.bbox["x1"], s.bbox["y1"])
                for s in segments.values()
                if s.kind == "page" and s.bbox
            }
            drawn = page.eval_on_selector_all(
                "rect.seg",
                """rs => rs.map(r => {
                    const box = r.getBoundingClientRect();
                    const sheet = r.closest('.sheet').getBoundingClientRect();
                    const img = r.closest('.sheet').querySelector('img').getBoundingClientRect();
                    return {id: r.dataset.id, x: box.x - sheet.x, y: box.y - sheet.y,
                            w: box.width, h: box.height, sw: sheet.width, iw: img.width,
                            ih: img.height, sh: sheet.height};
                })""",
            )
            assert len(drawn) >= 8
            for rect in drawn:
                s = segments[rect["id"]]
                width, height = sizes[s.page_number]
                scale = rect["sw"] / width
                assert abs(rect["iw"] - rect["sw"]) < 1  # the image fills the sheet
                assert abs(rect["ih"] - height * scale) < 2
                assert abs(rect["x"] - s.bbox["x0"] * scale) < 2, (rect, s.bbox)
                assert abs(rect["y"] - s.bbox["y0"] * scale) < 2, (rect, s.bbox)
                assert abs(rect["w"] - (s.bbox["x1"] - s.bbox["x0"]) * scale) < 2
                assert abs(rect["h"] - (s.bbox["y1"] - s.bbox["y0"]) * scale) < 2
            line = next(
                s
                for s in segments.values()
                if s.kind == "line" and s.text == "Total due: 1,250.00 EUR"
            )
            page.click(f"rect[data-id='{line.id}']")
            assert page.inner_text("#panel-text") == "Total due: 1,250.00 EUR"
            _shoot(page, "viewer")

            # the review queue, by keyboard: the markup zone is text, the first is corrected
            page.goto(f"{base}/ui/review")
            items = page.locator("li.item")
            assert items.count() == 2
            assert page.locator("li.item pre.text").nth(1).inner_text() == SCRIPT
            assert page.locator("li.item script").count() == 0
            _shoot(page, "review")
            first = items.nth(0).get_attribute("data-id")
            page.keyboard.press("c")
            page.keyboard.press("Control+a")
            page.keyboard.type("Total due: 1,250.00")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert page.url == f"{base}/ui/review"
            assert page.locator("li.item").count() == 1
            with page.expect_navigation():
                page.keyboard.press("a")
            assert page.locator("li.item").count() == 0
            page.goto(f"{base}/ui/segments/{first}")
            history = page.inner_text("table.history")
            assert "ana@example.org" in history
            assert "Total due: 1,250.00" in history
            assert "Tota1 due: 1,25O.00" in history  # the original, kept by the correction
            _shoot(page, "segment")

            page.goto(f"{base}/ui/?q=invoice")
            assert "invoice-and-plan.pdf" in page.inner_text("#hits")
            page.goto(f"{base}/ui/")
            _shoot(page, "documents")
            page.click("form.inline button")  # log out
            page.wait_for_url(f"{base}/ui/login")
            page.goto(f"{base}/ui/")
            assert page.url == f"{base}/ui/login"

            # a viewer: no upload form, no session in script's reach, no change without the token
            _log_in(page, base, site["viewer"])
            assert page.locator("form.upload").count() == 0
            assert "docledger_session" not in page.evaluate("document.cookie")
            forged = page.request.post(
                f"{base}/ui/segments/{first}/annotate",
                form={"kind": "label", "text": "x", "csrf": "forged"},
                max_redirects=0,
            )
            assert forged.status == 403
        finally:
            browser.close()
    assert dialogs == []
    with Ledger.open(settings=site["settings"]) as ledger:
        notes = ledger.annotations.list().items
        assert sorted(n.kind for n in notes) == ["correction", "review"]


def test_findings_jobs_runs_and_conversations_in_a_browser(site: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    base = site["base"]
    hostile = '<img src=x onerror="alert(2)">'
    with Ledger.open(settings=site["settings"]) as ledger:
        added = ledger.documents.create(PDF.read_bytes(), external_key="plan.pdf")
        ledger.extractions.run([added.document_id])
        line = next(
            s
            for s in ledger.segments.of_version(added.version_id)
            if s.kind == "line" and s.text == "Door D12 now opens outward"
        )
        finding = ledger.findings.create(
            "feature", "Door swing changed", confidence=0.6,
            evidence=[{"target": line, "relation": "supports", "reasoning": hostile}],
        )  # fmt: skip
        job = ledger.jobs.enqueue("ocr.page", {"page": 2}, queue="ocr", workspace="default")
        (claimed,) = ledger.leases.claim("ocr", "w1")
        ledger.leases.fail(claimed.id, "w1", hostile, retry=False)
        run = ledger.runs.create("train", "training", workspace="default")
        for step in range(10):
            ledger.runs.log_metrics(run.id, {"loss": 1 / (step + 1)}, step, workspace="default")
        talk = ledger.conversations.create(title="doors")
        ledger.conversations.log_query(talk.id, "which door?", [line], answer=hostile)
        (page_frame,) = ledger.segments.of_version(added.version_id, page=2, kind="page")
        ledger.annotations.create("segment", line.id, "label", {"label": "door"}, status="approved")
        dataset = ledger.datasets.snapshot("doors", {"kind": "label"})
        export = ledger.exports.create({}, ["jsonl"])
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            _log_in(page, base, site["editor"])

            # a finding's evidence drawn where its line is on the page; then confirmed
            page.goto(f"{base}/ui/findings")
            page.click(f"a[href='/ui/findings/{finding.id}']")
            page.wait_for_function("document.querySelector('.sheet img').complete")
            rect = page.eval_on_selector(
                "rect.evidence",
                """r => { const b = r.getBoundingClientRect();
                          const s = r.closest('.sheet').getBoundingClientRect();
                          return {x: b.x - s.x, y: b.y - s.y, w: b.width, sw: s.width}; }""",
            )
            scale = rect["sw"] / page_frame.bbox["x1"]
            assert abs(rect["x"] - line.bbox["x0"] * scale) < 2
            assert abs(rect["y"] - line.bbox["y0"] * scale) < 2
            assert abs(rect["w"] - (line.bbox["x1"] - line.bbox["x0"]) * scale) < 2
            assert hostile in page.inner_text("#evidence")
            _shoot(page, "finding")
            page.click("form.verdict button[value=confirm]")
            page.wait_for_url(f"{base}/ui/findings/{finding.id}")
            assert "confirmed" in page.inner_text("h1")
            assert "ana@example.org" in page.inner_text("table.history")

            # the jobs dashboard: the failed job's error as text, and a retry
            page.goto(f"{base}/ui/jobs")
            assert page.inner_text(f"section[data-id='{job.id}'] pre") == hostile
            assert page.locator("section.broken img").count() == 0
            _shoot(page, "jobs")
            page.click(f"section[data-id='{job.id}'] form.retry button")
            page.wait_for_url(f"{base}/ui/jobs")
            assert page.locator(f"section[data-id='{job.id}']").count() == 0

            # a run's loss curve: one point per step, falling
            page.goto(f"{base}/ui/runs")
            page.click(f"a[href='/ui/runs/{run.id}']")
            points = page.get_attribute("figure[data-key=loss] polyline", "points") or ""
            ys = [float(xy.split(",")[1]) for xy in points.split()]
            assert len(ys) == 10
            assert ys == sorted(ys)  # SVG y grows downwards: a falling loss
            _shoot(page, "run")

            # the document's lineage: its version and extraction, each a box to click
            page.goto(f"{base}/ui/documents/{added.document_id}")
            page.click("a[href^='/ui/lineage/document/']")
            types = page.eval_on_selector_all(
                "svg.lineage g.node[data-type]", "gs => gs.map(g => g.dataset.type)"
            )
            # its version and extraction, and (through the export's run) what was made of it
            assert {"extraction", "version", "dataset"} <= set(types), types
            _shoot(page, "lineage")
            page.click("svg.lineage g.node[data-type=version]")
            assert "made from" in page.inner_text("#lineage-nodes")

            # datasets and exports: a file downloads with the bytes its hash names
            page.goto(f"{base}/ui/datasets")
            assert "doors" in page.inner_text("#datasets")
            (file,) = export.files
            with page.expect_download() as download:
                page.click(f"#exports a:has-text('{file.name}')")
            saved = Path(download.value.path())
            assert hashlib.sha256(saved.read_bytes()).hexdigest() == file.sha256
            assert dataset.item_count == 1

            # a conversation with the citation it was answered from
            page.goto(f"{base}/ui/conversations/{talk.id}")
            assert "Door D12 now opens outward" in page.inner_text("ol.citations")
            assert hostile in page.inner_text("section.assistant pre")
        finally:
            browser.close()
    assert dialogs == []
    with Ledger.open(settings=site["settings"]) as ledger:
        assert ledger.findings.get(finding.id).status == "confirmed"
        assert ledger.jobs.get(job.id).status == "queued"
