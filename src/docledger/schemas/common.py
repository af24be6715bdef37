"""Shared DTO base classes and the validation wrapper that turns pydantic errors into ours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from docledger.errors import InvalidInput


class InputModel(BaseModel):
    """Inputs reject unknown fields: a typo must not silently drop a value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    """Outputs are immutable snapshots of a row, built from ORM objects or result rows."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: M | Mapping[str, Any]) -> M:
    """Build ``model`` from a mapping (or pass an instance through), raising InvalidInput."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or model.__name__}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInput(f"invalid {model.__name__}: {problems}") from exc
