"""Markdown headings as CommonMark reads them: on every Markdown file of Python-Markdown's
documentation (tests/corpus.py) the text extractor's sections are exactly the headings
markdown-it-py finds, and the cases that used to go wrong each once."""

from __future__ import annotations

from markdown_it import MarkdownIt

from docledger.extractors import TextExtractor
from docledger.extractors.markdown import headings
from tests.corpus import fetched, real_markdown


def _labels(data: bytes) -> list[str]:
    return [s.label or "" for s in TextExtractor().extract(data, {}) if s.kind == "section"]


def test_real_markdown_sections_are_markdown_its_headings() -> None:
    corpus = fetched(real_markdown, "real-Markdown")
    assert len(corpus) >= 35
    parser = MarkdownIt("commonmark")
    found = 0
    for path in corpus:
        data = path.read_bytes()
        tokens = parser.parse(data.decode("utf-8"))
        theirs = [
            tokens[n + 1].content.strip()
            for n, token in enumerate(tokens)
            if token.type == "heading_open"
        ]
        ours = [label for label in _labels(data) if label]
        assert ours == theirs, path.name
        found += len(theirs)
    assert found >= 200


def test_the_cases_a_hash_pattern_got_wrong() -> None:
    text = (
        "---\ntitle: front matter\n---\n"
        "Install\n=======\n\n"
        "```bash\n# not a heading\npip install x\n```\n\n"
        "~~~~\n~~~\n# still code\n~~~~\n\n"
        "    # indented code\n\n"
        "Usage notes\nover two lines\n-------------\n\n"
        "#5 is not a heading\n\n"
        "#\nnor is the line after an empty one\n\n"
        "## Closing hashes ##\n\n"
        "- a list item\n---\n\n"
        "text\n\n---\n\n"
        "   ### Indented three\n"
    )
    found = headings(text)
    assert [title for _, title in found] == [
        "Install",
        "Usage notes over two lines",
        "Closing hashes",
        "Indented three",
    ]
    for offset, title in found:
        assert text[offset:].startswith(title.split()[0]) or text[offset:].startswith("#"), title
    assert _labels(text.encode()) == ["", "Install", "Usage notes over two lines",
                                      "Closing hashes", "Indented three"]  # fmt: skip
