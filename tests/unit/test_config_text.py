"""YAML and TOML files are read as text in one section: their ``#`` lines are comments, which
the Markdown reading of plain text would have taken for headings."""

from __future__ import annotations

from docledger.extractors import ConfigTextExtractor, TextExtractor, for_media_type
from docledger.services.media import sniff

YAML = b"# Deployment of the zone reader\nservice:\n  name: zones  # the queue\n  replicas: 2\n"


def test_yaml_and_toml_are_one_section_of_text() -> None:
    for name in ("deploy.yaml", "deploy.yml", "pyproject.toml"):
        kind = sniff(YAML, name)
        assert isinstance(for_media_type(kind), ConfigTextExtractor), name
    segments = ConfigTextExtractor().extract(YAML, {})
    sections = [s for s in segments if s.kind == "section"]
    assert len(sections) == 1
    assert sections[0].label is None
    assert sections[0].text == YAML.decode().rstrip("\n")
    # what the same bytes give as Markdown: a heading, which a comment is not
    assert TextExtractor().extract(YAML, {})[0].label == "Deployment of the zone reader"
