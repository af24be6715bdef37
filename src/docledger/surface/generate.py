"""Write surface/auto.py and surface/aio.py: one explicit, typed method per surface method.

``python -m docledger.surface.generate`` rewrites them; ``--check`` fails when they are stale
(a test runs it). Generated rather than forwarded through ``__getattr__`` so that mypy, an
editor and ``help()`` see every method with its real arguments and return type, sync and async.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import re
import shutil
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docledger.deprecation import alias_of
from docledger.surface.registry import SURFACE, kind, methods

HERE = Path(__file__).parent
NAME = re.compile(r"(?<![.\w])([A-Za-z_]\w*)")
SIMPLE_DEFAULTS = (type(None), bool, int, float, str, tuple)


def class_name(attr: str) -> str:
    return "".join(part.capitalize() for part in attr.split("_"))


def _is_context(fn: Callable[..., Any]) -> bool:
    wrapped = getattr(fn, "__wrapped__", None)
    return wrapped is not None and inspect.isgeneratorfunction(wrapped)


class _Imports:
    """The names the generated annotations use, each imported from where it is defined."""

    def __init__(self) -> None:
        self.modules: set[str] = set()
        self.names: dict[str, str] = {}

    def add(self, annotation: str, fn: Callable[..., Any]) -> None:
        namespace = inspect.unwrap(fn).__globals__
        for name in NAME.findall(annotation):
            if hasattr(builtins, name) or name in {"None", "True", "False"}:
                continue
            if name not in namespace:
                home = _imported_for_typing(namespace, name)
                if home is None:
                    raise RuntimeError(
                        f"{fn.__qualname__}: cannot resolve {name!r} in {annotation}"
                    )
                self.names.setdefault(name, home)
                continue
            value = namespace[name]
            if isinstance(value, types.ModuleType):
                self.modules.add(value.__name__)
                continue
            home = self._home(name, value, namespace["__name__"])
            known = self.names.setdefault(name, home)
            if known != home and not self._same(name, known, home):
                raise RuntimeError(f"{name} comes from both {known} and {home}")

    @staticmethod
    def _same(name: str, one: str, other: str) -> bool:
        return getattr(sys.modules[one], name, 1) is getattr(sys.modules[other], name, 2)

    @staticmethod
    def _home(name: str, value: Any, fallback: str) -> str:
        module = getattr(value, "__module__", None)
        if (
            isinstance(module, str)
            and module in sys.modules
            and getattr(sys.modules[module], name, None) is value
        ):
            return module
        # an alias (``WorkspaceRef = str | UUID``): the docledger module that assigns it
        pattern = re.compile(rf"^{name}\s*(:[^=]*)?=", re.M)
        for candidate, mod in sorted(sys.modules.items()):
            if not candidate.startswith("docledger") or getattr(mod, name, None) is not value:
                continue
            source = getattr(mod, "__file__", None)
            if source and pattern.search(Path(source).read_text(encoding="utf-8")):
                return candidate
        return fallback

    def render(self, skip: set[str]) -> list[str]:
        lines = [f"import {m}" for m in sorted(self.modules)]
        by_module: dict[str, list[str]] = {}
        for name, module in self.names.items():
            if name in skip:
                continue
            by_module.setdefault(module, []).append(name)
        lines += [
            f"from {module} import {', '.join(sorted(names))}"
            for module, names in sorted(by_module.items())
        ]
        return lines


def _imported_for_typing(namespace: dict[str, Any], name: str) -> str | None:
    """The module a name comes from when it is imported only under ``TYPE_CHECKING``."""
    source = namespace.get("__file__")
    if not source:
        return None
    for node in ast.walk(ast.parse(Path(source).read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and any((a.asname or a.name) == name for a in node.names)
        ):
            return node.module
    return None


def _default(value: Any, where: str) -> str:
    if not isinstance(value, SIMPLE_DEFAULTS) or (
        isinstance(value, tuple) and not all(isinstance(v, SIMPLE_DEFAULTS) for v in value)
    ):
        raise RuntimeError(f"{where}: the default {value!r} cannot be written into the surface")
    return repr(value)


def _unshadow(annotation: str, shadowed: set[str], imports: _Imports) -> str:
    """``list[X]`` as ``builtins.list[X]`` in a class that has a ``list`` method."""
    if not shadowed:
        return annotation
    pattern = re.compile(r"(?<![.\w])(" + "|".join(sorted(shadowed)) + r")\b")
    fixed = pattern.sub(r"builtins.\1", annotation)
    if fixed != annotation:
        imports.modules.add("builtins")
    return fixed


def _signature(
    fn: Callable[..., Any], imports: _Imports, shadowed: set[str]
) -> tuple[str, str, str]:
    """(parameters, the call's arguments, return annotation) of a method, ``self`` first."""
    sig = inspect.signature(fn)
    params: list[str] = []
    args: list[str] = []
    star_done = False
    for p in sig.parameters.values():
        if p.name == "self":
            params.append("self")
            continue
        ann = p.annotation
        if ann is inspect.Parameter.empty:
            raise RuntimeError(f"{fn.__qualname__}: parameter {p.name} has no annotation")
        imports.add(ann, fn)
        ann = _unshadow(ann, shadowed, imports)
        text = f"{p.name}: {ann}"
        if p.default is not inspect.Parameter.empty:
            text += f" = {_default(p.default, fn.__qualname__)}"
        if p.kind is p.VAR_POSITIONAL:
            params.append(f"*{p.name}: {ann}")
            args.append(f"*{p.name}")
            star_done = True
            continue
        if p.kind is p.VAR_KEYWORD:
            params.append(f"**{p.name}: {ann}")
            args.append(f"**{p.name}")
            continue
        if p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        if p.kind is p.POSITIONAL_ONLY:
            raise RuntimeError(f"{fn.__qualname__}: positional-only parameters are not surfaced")
        params.append(text)
        args.append(p.name if p.kind is p.POSITIONAL_OR_KEYWORD else f"{p.name}={p.name}")
    returns = sig.return_annotation
    if returns is inspect.Signature.empty:
        raise RuntimeError(f"{fn.__qualname__} has no return annotation")
    imports.add(returns, fn)
    return ", ".join(params), ", ".join(args), _unshadow(returns, shadowed, imports)


def _doc(fn: Callable[..., Any], indent: str) -> list[str]:
    doc = inspect.getdoc(fn)
    if not doc:
        return []
    body = textwrap.indent(doc.replace('"""', "'''").replace("\\", "\\\\"), indent).strip()
    return [f'{indent}"""{body}"""' if "\n" not in body else f'{indent}"""{body}\n{indent}"""']


def _context_item(returns: str) -> str:
    match = re.fullmatch(r"Iterator\[(\w+)\]", returns)
    if match is None:
        raise RuntimeError(f"a context manager method returns Iterator[Handle], not {returns}")
    return match.group(1)


def render(flavour: str) -> str:
    """The text of auto.py (``flavour`` "auto") or aio.py ("aio")."""
    imports = _Imports()
    body: list[str] = []
    for attr, cls in SURFACE.items():
        imports.names.setdefault(cls.__name__, cls.__module__)
        name = class_name(attr) if flavour == "auto" else "Async" + class_name(attr)
        base = "AutoSurface" if flavour == "auto" else "AsyncSurface"
        body += ["", "", f"class {name}({base}):"]
        owner = "ledger" if flavour == "auto" else "aledger"
        body.append(f'    """``{owner}.{attr}``: the methods of :class:`{cls.__name__}`."""')
        body += ["", f"    _cls = {cls.__name__}"]
        aliases: list[str] = []
        surfaced = list(methods(cls))
        shadowed = {m for m, _ in surfaced if hasattr(builtins, m)}
        for method, fn in surfaced:
            if kind(fn) == "alias":
                aliases.append(f"    {method} = deprecated_alias({alias_of(fn)}, {method!r})")
                continue
            params, call_args, returns = _signature(fn, imports, shadowed)
            call = ", ".join(filter(None, [repr(method), call_args]))
            context = _is_context(fn)
            if flavour == "auto":
                ann = f"AbstractContextManager[{_context_item(returns)}]" if context else returns
                body += ["", f"    def {method}({params}) -> {ann}:"]
                body += _doc(fn, "        ")
                body.append(f"        return self._run({call})")
            elif context:
                item = _context_item(returns)
                if item != "RunHandle":
                    raise RuntimeError(f"no async twin for a context of {item}")
                body += ["", f"    def {method}({params}) -> AsyncRunContext:"]
                body += _doc(fn, "        ")
                body.append(f"        return self._context({call})")
            else:
                body += ["", f"    async def {method}({params}) -> {returns}:"]
                body += _doc(fn, "        ")
                body.append(f"        return await self._run({call})")
        if aliases:
            body += ["", *aliases]
    head = [
        '"""Generated by ``python -m docledger.surface.generate``: do not edit.',
        "",
        "The "
        + (
            "sync surface, each call in a transaction of its own"
            if flavour == "auto"
            else "async surface, each method awaited"
        )
        + "; how calls run is in surface/base.py.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from contextlib import AbstractContextManager" if flavour == "auto" else "",
        "from typing import TYPE_CHECKING",
        "",
        "from docledger.deprecation import deprecated_alias",
        "from docledger.surface.base import "
        + ("AutoSurface" if flavour == "auto" else "AsyncRunContext, AsyncSurface"),
        *[f"from {cls.__module__} import {cls.__name__}" for cls in SURFACE.values()],
        "",
        "if TYPE_CHECKING:",
        *["    " + line for line in imports.render(skip={c.__name__ for c in SURFACE.values()})],
    ]
    return _format("\n".join(head + body) + "\n")


def _format(source: str) -> str:
    """The text as ruff would leave it (imports sorted, formatted), so the checks agree."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        raise RuntimeError("ruff (a dev dependency) formats the generated surface")
    target = str(HERE / "generated.py")
    fixed = subprocess.run(  # noqa: S603 - our own ruff, fixed arguments
        [
            ruff,
            "check",
            "--fix",
            "--quiet",
            "--stdin-filename",
            target,
            "--exit-zero",
            "--select",
            "I,F401",
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return subprocess.run(  # noqa: S603 - our own ruff, fixed arguments
        [ruff, "format", "--quiet", "--stdin-filename", target, "-"],
        input=fixed,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def main(argv: list[str] | None = None) -> int:
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for flavour in ("auto", "aio"):
        path = HERE / f"{flavour}.py"
        text = render(flavour)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"stale: {', '.join(stale)}; run python -m docledger.surface.generate")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
