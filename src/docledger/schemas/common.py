"""Shared DTO base classes and the validation wrapper that turns pydantic errors into ours."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import from_json

from docledger.errors import InvalidInput


class InputModel(BaseModel):
    """Inputs reject unknown fields: a typo must not silently drop a value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    """Outputs are immutable snapshots of a row, built from ORM objects or result rows."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@functools.cache
def _plain_fields(cls: type[BaseModel]) -> frozenset[str] | None:
    """The field names of a model ``constructed`` may build directly: no aliases, extras,
    private attributes or post-init hook, the things ``model_construct`` would handle."""
    if (
        cls.__pydantic_post_init__
        or cls.__private_attributes__
        or cls.__pydantic_root_model__
        or cls.model_config.get("extra") == "allow"
        or any(f.alias or f.validation_alias for f in cls.model_fields.values())
    ):
        return None
    return frozenset(cls.model_fields)


def constructed(cls: type[M], fields: dict[str, Any]) -> M:
    """``cls.model_construct(**fields)`` for values already typed (rows the database just
    returned), given every field: the same object, built in a third of the time, which a
    search pays per hit (``bench/knn.py --ann``). Anything else goes through
    ``model_construct`` itself."""
    names = _plain_fields(cls)
    if names is None or len(fields) != len(names) or not names.issuperset(fields):
        return cls.model_construct(**fields)
    made = cls.__new__(cls)
    setter = object.__setattr__
    setter(made, "__dict__", fields)
    setter(made, "__pydantic_fields_set__", set(names))
    setter(made, "__pydantic_extra__", None)
    setter(made, "__pydantic_private__", None)
    return made


class Page(BaseModel, Generic[T]):
    """One page of a listing, the shape every ``list`` returns: pass ``next_cursor`` back as
    ``cursor=`` for the next page; it is None on the last one. Pages are keyset-paginated on
    the listing's order (ending with the id), so rows inserted meanwhile never shift a page."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = None


@functools.cache
def _list_adapter(model: Any) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])


def validate_dicts(kind: Any, items: list[Any], name: str) -> list[Any]:
    """Validate a batch of plain dicts against a TypedDict ``kind`` in one pydantic-core call
    (no model objects: the fastest shape for bulk input), raising InvalidInput."""
    try:
        return _list_adapter(kind).validate_python(items)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidInput(f"invalid {name}: {problems}") from exc


def output_list(model: type[M], rows: list[dict[str, Any]]) -> list[M]:
    """DTOs for many rows in one pydantic-core call (rows come from the database, so a
    validation error here is a bug, not bad input)."""
    return _list_adapter(model).validate_python(rows)


def from_json_text(value: Any) -> Any:
    """JSON read as text (a column selected as TEXT) parsed by pydantic-core, which is several
    times faster than ``json.loads``; values that are already decoded pass through."""
    if isinstance(value, str | bytes):
        return from_json(value)
    return value


def _describe(model: type[BaseModel], exc: ValidationError) -> str:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or model.__name__}: {err['msg']}"
        for err in exc.errors()[:5]
    )
    return f"invalid {model.__name__}: {problems}"


def validate(model: type[M], data: M | Mapping[str, Any]) -> M:
    """Build ``model`` from a mapping (or pass an instance through), raising InvalidInput."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(model, exc)) from exc


def every(list_page: Callable[..., Page[T]], **filters: Any) -> Iterator[T]:
    """Every item of a listing, page after page: ``every(ledger.runs.list, kind="training")``."""
    cursor: str | None = None
    while True:
        current = list_page(**filters, cursor=cursor)
        yield from current.items
        if current.next_cursor is None:
            return
        cursor = current.next_cursor
