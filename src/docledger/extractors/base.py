"""The extractor interface, and validation of the params each built-in extractor takes.

An extractor turns a version's bytes into segments. Third-party extractors register under the
``docledger.extractors`` entry-point group (a class or factory returning an object with
``name``, ``version``, ``media_types`` and ``extract``; optionally ``version_for(params)``
when the version depends on the params or on what is installed, and ``check(params)`` to
refuse bad params before any document is read).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from docledger.errors import InvalidInput
from docledger.schemas.extraction import SegmentIn


@runtime_checkable
class Extractor(Protocol):
    name: str
    version: str
    media_types: tuple[str, ...]

    def extract(
        self, data: bytes, params: Mapping[str, Any]
    ) -> Sequence[SegmentIn | Mapping[str, Any]]: ...


def version_of(extractor: Extractor, params: Mapping[str, Any]) -> str:
    """The version recorded for a run with these params (a new OCR engine is a new version)."""
    version_for = getattr(extractor, "version_for", None)
    return str(version_for(params)) if callable(version_for) else extractor.version


@dataclass(frozen=True)
class Param:
    """One accepted param: its type, bounds or choices, and default. A ``secret`` one (a
    PDF's password) is used for the run and never recorded: not in the extraction's params,
    not in its identity, not in a queued job's payload."""

    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    secret: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.nullable:
            return None
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and self.kind is not bool:
            raise InvalidInput(f"param {name!r} must be {self.kind.__name__}, not a boolean")
        if not isinstance(value, self.kind):
            raise InvalidInput(
                f"param {name!r} must be {self.kind.__name__}, not {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"param {name!r} must be a finite number")
        number: Any = value  # isinstance above narrowed it to object for the checker
        if self.low is not None and number < self.low:
            raise InvalidInput(f"param {name!r} must be at least {self.low:g}")
        if self.high is not None and number > self.high:
            raise InvalidInput(f"param {name!r} must be at most {self.high:g}")
        if self.choices and value not in self.choices:
            raise InvalidInput(f"param {name!r} is one of {', '.join(self.choices)}")
        return value


def check_params(
    spec: Mapping[str, Param], params: Mapping[str, Any], extractor: str
) -> dict[str, Any]:
    """Params with defaults filled in; unknown names and bad values are InvalidInput."""
    if not isinstance(params, Mapping):
        raise InvalidInput("extractor params are a JSON object")
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise InvalidInput(
            f"extractor {extractor!r} takes no param {unknown[0]!r}; it takes {sorted(spec)}"
        )
    out = {name: p.default for name, p in spec.items()}
    for name, value in params.items():
        out[name] = spec[name].check(name, value)
    return out


CHUNK_PARAMS = {
    "chunk_size": Param(int, 800, low=50, high=100_000),
    "chunk_overlap": Param(int, 0, low=0, high=50_000),
}


def check_chunking(values: Mapping[str, Any]) -> None:
    if values["chunk_size"] and values["chunk_overlap"] >= values["chunk_size"]:
        raise InvalidInput("param 'chunk_overlap' must be smaller than 'chunk_size'")


class Chunking:
    """``check`` for extractors whose params include the chunking pair: the names and
    values against ``params``, then the overlap against the size."""

    name: str
    params: dict[str, Param]

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = check_params(self.params, params, self.name)
        check_chunking(values)
        return values
