"""``constructed``: the object ``model_construct`` builds, from rows already typed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from docledger.schemas.common import constructed
from docledger.schemas.embedding import SearchHit


def hit_fields() -> dict[str, Any]:
    return {
        "segment_id": uuid.uuid4(),
        "score": 0.25,
        "document_id": uuid.uuid4(),
        "external_key": "a.pdf",
        "version_id": uuid.uuid4(),
        "page_number": 2,
        "kind": "chunk",
        "label": None,
        "text": "<b>x</b>",
        "bbox": {"x0": 1.0, "y0": 2.0, "x1": 3.0, "y1": 4.0},
        "sha256": "0" * 64,
        "extraction_id": None,
        "meta": {},
    }


def test_a_hit_is_the_object_model_construct_builds() -> None:
    fields = hit_fields()
    want = SearchHit.model_construct(**fields)
    got = constructed(SearchHit, dict(fields))
    assert type(got) is SearchHit
    assert got == want
    assert got.model_fields_set == want.model_fields_set
    assert got.model_dump() == want.model_dump()
    assert got.model_dump_json() == want.model_dump_json()
    assert repr(got) == repr(want)
    assert got.model_copy(update={"score": 0.5}).score == 0.5
    with pytest.raises(ValueError, match="frozen"):  # like any output
        got.score = 1.0  # type: ignore[misc]


class Aliased(BaseModel):
    value: int = Field(alias="v")


class Private(BaseModel):
    value: int
    _seen: int = PrivateAttr(default=7)


class Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: int


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (Aliased, {"v": 3}),
        (Private, {"value": 3}),
        (Extra, {"value": 3, "other": 4}),
        (SearchHit, {"segment_id": uuid.uuid4(), "score": 1.0}),  # not every field given
        (SearchHit, {**hit_fields(), "unknown": 1}),
    ],
)
def test_what_it_cannot_build_directly_goes_through_model_construct(
    cls: type[BaseModel], fields: dict[str, Any]
) -> None:
    want = cls.model_construct(**fields)
    got = constructed(cls, dict(fields))
    assert got.__dict__ == want.__dict__
    assert got.model_fields_set == want.model_fields_set
    assert got.__pydantic_private__ == want.__pydantic_private__
    assert got.__pydantic_extra__ == want.__pydantic_extra__
