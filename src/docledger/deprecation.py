"""Old names kept for one release: they work, and warn with the name to use instead."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from docledger.errors import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: set on an alias: the name of the method it stands for
ALIAS_OF = "__docledger_alias_of__"


def deprecated_alias(fn: F, old: str) -> F:
    """``old`` as a name for ``fn`` that warns (DeprecationWarning) on every call."""

    @functools.wraps(fn)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"{old}() is deprecated and goes away in the next release: use {fn.__name__}()",
            DeprecationWarning,
            stacklevel=2,
        )
        return fn(*args, **kwargs)

    setattr(alias, ALIAS_OF, fn.__name__)
    alias.__name__ = old
    return alias  # type: ignore[return-value]


def alias_of(fn: object) -> str | None:
    return getattr(fn, ALIAS_OF, None)


def renamed_argument(old: str, old_value: T, new: str, new_value: T) -> T:
    """The value of a renamed keyword argument: the new one, or the old one with a warning."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise InvalidInput(f"pass {new}= only ({old}= is its old name)")
    warnings.warn(
        f"{old}= is deprecated and goes away in the next release: use {new}=",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value


def moved_module(old: str, new: str) -> None:
    """Warn once, at import, that module ``old`` now lives at ``new``."""
    warnings.warn(
        f"{old} is deprecated and goes away in the next release: import {new}",
        DeprecationWarning,
        stacklevel=3,
    )
