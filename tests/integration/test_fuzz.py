"""A fuzzed public API (issue 13): hypothesis generates calls of the public surface with valid
and invalid arguments and runs each call on a real SQLite file and a real PostgreSQL database
side by side. After every call: it succeeded, or raised a DocledgerError subclass and changed
no row; both dialects gave the same answer (success, or the same error class); at the end,
``verify`` finds nothing wrong.

The CI profile is bounded (a fixed seed, about a minute); ``pytest -m fuzz`` runs the long one
by hand. Each test prints how many calls ran.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from docledger import AsyncLedger, DocledgerError, Ledger, load_settings
from docledger import models as m
from docledger.db.session import session_scope
from docledger.services import invariants, maintenance
from tests.conftest import PgDatabases

COUNTED = [
    m.Workspace,
    m.User,
    m.Document,
    m.DocumentVersion,
    m.Blob,
    m.Extraction,
    m.Segment,
    m.Annotation,
    m.AnnotationEvent,
    m.Run,
    m.RunEvent,
    m.MetricChunk,
    m.Job,
    m.Dataset,
    m.Finding,
    m.FindingLink,
    m.FindingEvent,
    m.FindingOutput,
    m.Conversation,
    m.Message,
    m.Retrieval,
]

#: (examples, calls per example) for the CI profile and for ``-m fuzz``
CI_PROFILE = (120, 25)
LONG_PROFILE = (1500, 25)

# -- values: valid, borderline and hostile, mixed ----------------------------------------------
WEIRD_TEXT = [
    "",
    " ",
    "a\x00b",
    "[/i]",
    "[quote]x[/quote]",
    ":smile:",
    "'; DROP TABLE documents; --",
    '"quoted" OR 1=1',
    "NEAR(a b)",
    "a*",
    "ünïcödé ✓",
    "\u202eevil",
    "x" * 300,
    "y" * 5000,
    "../etc/passwd",
    "/abs/path",
    "C:/win",
]
GOOD_TEXT = ["bridge", "Tunnel report", "loss", "train", "a label", "x"]
good_texts = st.sampled_from(GOOD_TEXT)
#: mostly sensible values, so calls get past validation and build state; hostile ones mixed in
texts = st.one_of(good_texts, good_texts, st.sampled_from(WEIRD_TEXT), st.text(max_size=40))
numbers = st.one_of(
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**31, 2**63, 0.5, True, False]),
)
json_leaf = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
anything = st.one_of(json_values, st.just(object()), st.binary(max_size=8), st.just([1]))
small_ints = st.one_of(
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=-3, max_value=60),
    st.sampled_from([10**20, 2**40]),
)
limits = st.one_of(st.integers(min_value=1, max_value=20), small_ints, st.sampled_from(["3", None]))
keys = st.sampled_from(["a.txt", "b.pdf", "dir/c.md", "d.json", "[/i].txt", "e.txt"])
workspaces_ = st.sampled_from([None, None, "default", "other", "nope"])
contents = st.sampled_from(
    [
        b"Bridges carry roads over rivers.",
        b"%PDF-1.4 not really a pdf",
        b'{"a": 1}',
        b"",
        b"\x00\x01binary",
        b"Tunnels carry roads under rivers.",
    ]
)


#: the kinds of drawn reference resolved per ledger (documents, versions, runs, findings,
#: conversations)
REFS = {"doc", "version", "run", "f", "c"}


class Pair:
    """The same store on both dialects, and the ids each one gave the same things."""

    def __init__(self, sqlite: Ledger, postgres: Ledger) -> None:
        self.ledgers = {"sqlite": sqlite, "postgresql": postgres}
        self.calls = 0
        self.refused = 0

    def resolve(self, ledger: Ledger, ref: Any) -> Any:
        """A reference drawn as ("doc", key) becomes this ledger's id for it (or a fresh
        UUID when it has none), so both dialects are asked about the same thing."""
        if (
            isinstance(ref, tuple)
            and len(ref) == 2
            and ref[0] in {"doc", "version", "run", "f", "c"}
        ):
            kind, key = ref
            try:
                if kind == "doc":
                    return ledger.documents.get(key).id
                if kind == "version":
                    return ledger.documents.version(key).id
                if kind in {"f", "c"}:
                    listing = ledger.findings if kind == "f" else ledger.conversations
                    found = (
                        list(reversed(listing.list(limit=100).items))
                        if kind == "c"
                        else (listing.list(limit=100).items)
                    )
                    return found[key % len(found)].id if found else uuid.UUID(int=key)
                runs = ledger.runs.list(limit=100).items
                return runs[key % len(runs)].id if runs else uuid.UUID(int=key)
            except DocledgerError:
                return uuid.UUID(int=7)
        return ref


def _counts(ledger: Ledger) -> dict[str, int]:
    with session_scope(ledger.engine, readonly=True) as s:
        return {
            t.__tablename__: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in COUNTED
        }


# -- the calls ---------------------------------------------------------------------------------


def _finding(f: Any) -> Any:
    return (f.kind, f.status, f.revision, f.confidence, f.body)


def _link(link: Any) -> Any:
    return (link.relation, link.strength, link.reasoning)


def _message(message: Any) -> Any:
    return (message.role, message.content, message.meta)


Op = tuple[str, Callable[[Ledger, Callable[[Any], Any]], Any]]


@st.composite
def operations(draw: st.DrawFn) -> Op:  # noqa: PLR0911, PLR0912 - a branch per public call
    which = draw(st.integers(min_value=0, max_value=23))
    ws = draw(workspaces_)
    doc = ("doc", draw(keys))
    if which == 0:
        data, key = draw(contents), draw(st.one_of(keys, texts, st.just(5)))
        meta = draw(st.one_of(st.none(), st.dictionaries(st.text(max_size=5), json_values)))
        return "documents.create", lambda ld, r: ld.documents.create(
            data, external_key=key, metadata=meta, workspace=ws
        )
    if which == 1:
        title, meta = draw(st.one_of(st.none(), texts)), draw(st.one_of(st.none(), anything))
        tags = draw(st.one_of(st.none(), st.lists(texts, max_size=2)))
        return "documents.update", lambda ld, r: ld.documents.update(
            r(doc), title=title, metadata=meta, add_tags=tags, workspace=ws
        )
    if which == 2:
        return "documents.get", lambda ld, r: ld.documents.get(r(doc), workspace=ws)
    if which == 3:
        limit, tag = draw(limits), draw(st.one_of(st.none(), texts))
        return "documents.list", lambda ld, r: len(
            ld.documents.list(limit=limit, tag=tag, workspace=ws).items
        )
    if which == 4:
        return "documents.delete", lambda ld, r: ld.documents.delete(r(doc), workspace=ws)
    if which == 5:
        status = draw(st.sampled_from(["processing", "archived", "uploaded", "nope", None]))
        return "documents.set_status", lambda ld, r: ld.documents.set_status(r(doc), status)
    if which == 6:
        name, params = draw(texts), draw(st.one_of(st.none(), anything))
        tags = draw(st.one_of(st.just(()), st.lists(texts, max_size=2), st.just("abc")))
        kind = draw(st.sampled_from(["training", "pipeline", "nope"]))
        return "runs.create", lambda ld, r: ld.runs.create(
            name, kind, params=params, tags=tags, workspace=ws
        )
    if which == 7:
        run = ("run", draw(st.integers(min_value=0, max_value=5)))
        metrics = draw(st.dictionaries(texts, numbers, max_size=3))
        step = draw(st.one_of(small_ints, st.floats(), st.just(2**64)))
        return "runs.log_metrics", lambda ld, r: ld.runs.log_metrics(r(run), metrics, step)
    if which == 8:
        kind = draw(st.sampled_from(["label", "classification", "correction", "nope"]))
        value = draw(st.one_of(anything, st.fixed_dictionaries({"label": texts})))
        return "annotations.create", lambda ld, r: ld.annotations.create(
            "document", r(doc), kind, value
        )
    if which == 9:
        slug = draw(st.one_of(st.sampled_from(["other", "team-a"]), texts))
        return "workspaces.create", lambda ld, r: ld.workspaces.create(slug)
    if which == 10:
        email = draw(st.one_of(st.sampled_from(["ann@example.com", "bob@example.com"]), texts))
        return "users.create", lambda ld, r: ld.users.create(email)
    if which == 11:
        query, k = draw(st.one_of(texts, st.none(), st.just(5))), draw(limits)
        return "search.text", lambda ld, r: len(ld.search.text(query, k=k, workspace=ws))
    if which == 12:
        version = ("version", draw(keys))
        segs = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"kind": st.sampled_from(["chunk", "zone", "nope"])},
                    optional={
                        "text": texts,
                        "page_number": small_ints,
                        "confidence": numbers,
                        "metadata": anything,
                    },
                ),
                max_size=3,
            )
        )
        params = draw(st.one_of(st.none(), anything))
        name = draw(st.one_of(st.just("fuzz"), texts))
        return (
            "extractions.record",
            lambda ld, r: ld.extractions.record(r(version), name, "1", params, segs).segments,
        )
    if which == 13:
        task, payload = draw(texts), draw(anything)
        priority = draw(small_ints)
        return "jobs.enqueue", lambda ld, r: ld.jobs.enqueue(task, payload, priority=priority)
    if which == 14:
        return "extractions.run", lambda ld, r: [
            (o.error is None, o.skipped is None) for o in ld.extractions.run([r(doc)])
        ]
    if which == 15:
        flt = draw(st.one_of(st.none(), anything, st.fixed_dictionaries({"kind": texts})))
        name = draw(st.one_of(st.just("train"), texts))
        return "datasets.snapshot", lambda ld, r: ld.datasets.snapshot(name, flt, workspace=ws)
    if which == 16:
        days = draw(numbers)
        return "jobs.purge", lambda ld, r: ld.jobs.purge(older_than_days=days)
    finding = ("f", draw(st.integers(min_value=0, max_value=5)))
    if which == 17:
        kind = draw(st.sampled_from(["feature", "comparison", "nope", 5]))
        title, body = draw(st.one_of(texts, st.none())), draw(st.one_of(st.none(), anything))
        confidence = draw(st.one_of(st.none(), numbers))
        status = draw(st.sampled_from(["candidate", "confirmed", "maybe"]))
        return "findings.create", lambda ld, r: _finding(
            ld.findings.create(
                kind, title, body=body, confidence=confidence, status=status, workspace=ws
            )
        )
    if which == 18:
        action = draw(st.sampled_from(["confirm", "reject", "reopen"]))
        revision = draw(st.one_of(st.none(), small_ints))
        note = draw(st.one_of(st.none(), texts, st.just(3)))
        return f"findings.{action}", lambda ld, r: _finding(
            getattr(ld.findings, action)(r(finding), expected_revision=revision, note=note)
        )
    if which == 19:
        target = draw(st.sampled_from(["doc", "version"]))
        relation = draw(st.sampled_from(["supports", "implements", "old", "nope", None]))
        strength = draw(st.one_of(st.none(), numbers))
        reasoning = draw(st.one_of(st.none(), texts, st.just(7)))
        ref = (target, draw(keys))
        kind_name = {"doc": "document", "version": "version"}[target]
        return "findings.link", lambda ld, r: _link(
            ld.findings.link(
                r(finding), (kind_name, r(ref)), relation, strength=strength, reasoning=reasoning
            )
        )
    if which == 20:
        order = draw(st.sampled_from(["created", "-confidence", "nope"]))
        threshold, limit = draw(st.one_of(st.none(), numbers)), draw(limits)
        return "findings.list", lambda ld, r: [
            (f.title, f.status)
            for f in ld.findings.list(
                min_confidence=threshold, order=order, limit=limit, workspace=ws
            ).items
        ]
    if which == 21:
        title, meta = (
            draw(st.one_of(st.none(), texts, st.just(2))),
            draw(st.one_of(st.none(), anything)),
        )
        return (
            "conversations.create",
            lambda ld, r: ld.conversations.create(title=title, metadata=meta, workspace=ws).title,
        )
    if which == 22:
        talk = ("c", draw(st.integers(min_value=0, max_value=3)))
        role = draw(st.sampled_from(["user", "assistant", "robot"]))
        content, meta = draw(st.one_of(texts, st.just(1))), draw(st.one_of(st.none(), anything))
        return "conversations.create_message", lambda ld, r: _message(
            ld.conversations.create_message(r(talk), role, content, metadata=meta)
        )
    threshold, limit = draw(numbers), draw(limits)
    return "segments.low_confidence", lambda ld, r: len(
        ld.segments.low_confidence(threshold, limit=limit, workspace=ws)
    )


def _outcome(pair: Pair, dialect: str, name: str, call: Any) -> tuple[str, Any]:
    ledger = pair.ledgers[dialect]
    before = _counts(ledger)
    try:
        result = call(ledger, lambda ref: pair.resolve(ledger, ref))
    except DocledgerError as exc:
        refused: BaseException | None = exc
    else:
        refused = None
    if refused is not None:
        after = _counts(ledger)
        assert after == before, f"{name} on {dialect} raised {refused!r} and changed {after}"
        return type(refused).__name__, str(refused)[:200]
    # only what both dialects must agree on: counts and flags, never ids or timestamps
    shown = result if isinstance(result, int | list | bool) else None
    return "ok", shown


@pytest.fixture
def pair(sqlite_template: Path, pg_databases: PgDatabases, tmp_path: Path) -> Iterator[Pair]:
    path = tmp_path / "fuzz.db"
    shutil.copyfile(sqlite_template, path)
    pg_url = pg_databases.create(template=make_url(pg_databases.template_url()).database)
    lite = Ledger.open(
        settings=load_settings(db_url=f"sqlite:///{path}", blob_root=str(tmp_path / "b1"))
    )
    pg = Ledger.open(settings=load_settings(db_url=pg_url, blob_root=str(tmp_path / "b2")))
    try:
        yield Pair(lite, pg)
    finally:
        lite.close()
        pg.close()
        pg_databases.drop(pg_url)


def _run(pair: Pair, ops: list[Op]) -> None:
    for name, call in ops:
        results = {d: _outcome(pair, d, name, call) for d in ("sqlite", "postgresql")}
        pair.calls += 2
        pair.refused += sum(1 for kind, _ in results.values() if kind != "ok")
        kinds = {d: r[0] for d, r in results.items()}
        assert kinds["sqlite"] == kinds["postgresql"], f"{name}: dialects disagree: {results}"
        if kinds["sqlite"] == "ok" and name != "search.text":  # BM25 ties may order apart
            assert results["sqlite"] == results["postgresql"], f"{name}: {results}"


def _finish(pair: Pair, capsys: pytest.CaptureFixture[str], label: str) -> None:
    for dialect, ledger in pair.ledgers.items():
        assert maintenance.verify(ledger.engine, ledger.blobs).ok, dialect
        broken = [
            f
            for f in invariants.check(ledger.engine, ledger.blobs)
            if f.count and f.check != "blob files no row names"
        ]
        assert broken == [], dialect
    with capsys.disabled():
        print(f"\n[fuzz {label}] {pair.calls} calls, {pair.refused} refused with DocledgerError")


def _fuzz(examples: int, calls: int, *, ci: bool) -> Callable[..., Any]:
    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        return settings(
            max_examples=examples,
            deadline=None,
            derandomize=ci,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )(given(st.lists(operations(), min_size=1, max_size=calls))(test))

    return decorate


@pytest.mark.postgres
def test_fuzz_public_api(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    @_fuzz(*CI_PROFILE, ci=True)
    def run(ops: list[Op]) -> None:
        _run(pair, ops)

    run()
    _finish(pair, capsys, "ci")


@pytest.mark.fuzz
@pytest.mark.postgres
def test_fuzz_public_api_long(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    @_fuzz(*LONG_PROFILE, ci=False)
    def run(ops: list[Op]) -> None:
        _run(pair, ops)

    run()
    _finish(pair, capsys, "long")


#: repository calls (what the async ledger reaches; services are issue 14's) with arguments
#: drawn like the sync fuzz's: (owner, method, args, kwargs)
RepoCall = tuple[str, str, tuple[Any, ...], dict[str, Any]]


@st.composite
def repository_calls(draw: st.DrawFn) -> RepoCall:  # noqa: PLR0911 - a branch per call
    which = draw(st.integers(min_value=0, max_value=8))
    ws = draw(workspaces_)
    if which == 0:
        return "workspaces", "create", (draw(st.one_of(texts, st.just("team"))),), {}
    if which == 1:
        return "users", "create", (draw(texts),), {}
    if which == 2:
        return "documents", "list", (), {"limit": draw(limits), "workspace": ws}
    if which == 3:
        return "documents", "get", (draw(st.one_of(keys, texts)),), {"workspace": ws}
    if which == 4:
        params = draw(st.one_of(st.none(), anything))
        return "runs", "create", (draw(texts),), {"params": params, "workspace": ws}
    if which == 5:
        return "runs", "list", (), {"limit": draw(limits)}
    if which == 6:
        return "jobs", "purge", (), {"older_than_days": draw(numbers)}
    if which == 7:
        payload = draw(anything)
        return "jobs", "enqueue", (draw(texts), payload), {"priority": draw(small_ints)}
    return "annotations", "list", (), {"limit": draw(limits), "workspace": ws}


def _answer(result: Any) -> Any:
    return len(result) if isinstance(result, list | tuple) else "ok"


@pytest.fixture
def twin(dialect: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases of one dialect: one for the sync API, one for the async."""
    if dialect == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        urls = []
        for name in ("sync.db", "async.db"):
            shutil.copyfile(template, tmp_path / name)
            urls.append(f"sqlite:///{tmp_path / name}")
        yield urls[0], urls[1]
        return
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    name = make_url(dbs.template_url()).database
    first, second = dbs.create(template=name), dbs.create(template=name)
    yield first, second
    dbs.drop(first)
    dbs.drop(second)


def test_fuzz_async_twin_answers_like_the_sync_api(
    twin: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The async ledger runs the same repository code: the same generated calls give the same
    answers through it as through the sync ledger, each on a store of its own."""
    sync_url, async_url = twin
    loop = asyncio.new_event_loop()
    aledger = loop.run_until_complete(AsyncLedger.open(async_url))
    ledger = Ledger.open(sync_url)
    calls = 0
    try:

        @settings(
            max_examples=150,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(st.lists(repository_calls(), min_size=1, max_size=10))
        def run(batch: list[RepoCall]) -> None:
            nonlocal calls
            for owner, method, args, kwargs in batch:
                try:
                    sync_answer = _answer(getattr(getattr(ledger, owner), method)(*args, **kwargs))
                except DocledgerError as exc:
                    sync_answer = type(exc).__name__
                try:
                    call = getattr(getattr(aledger, owner), method)(*args, **kwargs)
                    async_answer = _answer(loop.run_until_complete(call))
                except DocledgerError as exc:
                    async_answer = type(exc).__name__
                calls += 2
                assert sync_answer == async_answer, (owner, method, args, kwargs)

        run()
    finally:
        ledger.close()
        loop.run_until_complete(aledger.close())
        loop.close()
    with capsys.disabled():
        print(f"\n[fuzz async] {calls} calls, sync and async answers equal")
