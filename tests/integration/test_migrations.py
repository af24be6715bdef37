"""The migration chain on both dialects: up from empty, down to base, up again, no drift."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect

from docledger.config import load_settings
from docledger.db.base import Base
from docledger.db.engine import create_sync_engine
from docledger.errors import Conflict, InvalidInput, MigrationRequired
from docledger.ledger import Ledger
from docledger.services import schema


def _tables(engine: object) -> set[str]:
    """docledger's tables, without Alembic's and the full-text index's own (``fts_*``)."""
    names = set(inspect(engine).get_table_names())  # type: ignore[arg-type]
    return {n for n in names if n != "alembic_version" and not n.startswith("fts_")}


def test_upgrade_downgrade_upgrade_has_no_drift(empty_db_url: str) -> None:
    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    try:
        assert _tables(engine) == set()
        schema.upgrade(engine)
        assert _tables(engine) == set(Base.metadata.tables)
        assert schema.check(engine) == []
        schema.downgrade(engine, "base")
        assert _tables(engine) == set()
        assert schema.schema_state(engine).current is None
        schema.upgrade(engine)
        assert schema.schema_state(engine).at_head
        assert schema.check(engine) == []
    finally:
        engine.dispose()


def test_each_step_goes_up_and_down(empty_db_url: str) -> None:
    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    try:
        revisions = [rev for rev, _down, _msg in schema.history()]
        assert len(revisions) == 21
        seen: list[set[str]] = []
        for rev in revisions:
            schema.upgrade(engine, rev)
            assert schema.schema_state(engine).current == rev
            seen.append(_tables(engine))
        # each schema phase adds tables; 0006 adds the full-text index (an fts_* table); 0007
        # adds pgvector copies only where the server has pgvector (not this one); 0008 and 0009
        # add triggers and the fts_pending table; 0010 and 0011 change triggers and the shape
        # of fts_pending (fts_* tables are not counted here); 0012 replaces the metrics table
        # by metric_chunks and a view named metrics; 0013 changes indexes only; 0014 adds
        # page_images (and a column of documents); 0015 drops a unique constraint; 0019 adds
        # api_keys
        assert all(a < b for a, b in itertools.pairwise(seen[:5])), "each phase adds tables"
        assert seen[10] == seen[9] == seen[8] == seen[7] == seen[6] == seen[5] == seen[4]
        assert seen[11] == seen[10] - {"metrics"} | {"metric_chunks"}
        assert seen[12] == seen[11]
        assert seen[13] == seen[12] | {"page_images"}
        assert seen[14] == seen[13]
        assert seen[18] == seen[17] | {"api_keys"}  # 0019
        for rev, before in zip(reversed(revisions[:-1]), reversed(seen[:-1]), strict=True):
            schema.downgrade(engine, rev)
            assert _tables(engine) == before
    finally:
        engine.dispose()


def test_check_reports_drift(empty_db_url: str) -> None:
    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    try:
        schema.upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_runs_status")
        diffs = schema.check(engine)
        assert any("ix_runs_status" in line for line in diffs)
    finally:
        engine.dispose()


def test_open_refuses_a_database_below_head(empty_db_url: str) -> None:
    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    schema.upgrade(engine, "0003")
    engine.dispose()
    with pytest.raises(MigrationRequired, match="at revision 0003, docledger needs"):
        Ledger.open(empty_db_url)
    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    with engine.begin() as conn:  # tables of docledger's but no version: refused, not upgraded
        conn.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
    with pytest.raises(MigrationRequired, match="at revision none"):
        Ledger.open(empty_db_url)


def test_open_creates_a_brand_new_database_at_head(empty_db_url: str) -> None:
    with Ledger.open(empty_db_url) as ledger:
        assert schema.schema_state(ledger.engine).at_head
        assert ledger.workspaces.get().slug == "default"


def test_migrated_check_constraints_match_the_models(db_url: str) -> None:
    """Alembic's drift check does not compare CHECK constraints; this test does."""
    from sqlalchemy import CheckConstraint  # noqa: PLC0415

    engine = create_sync_engine(load_settings(db_url=db_url))
    try:
        insp = inspect(engine)
        for name, table in Base.metadata.tables.items():
            expected = {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
            actual = {str(c["name"]) for c in insp.get_check_constraints(name)}
            assert actual == expected, name
    finally:
        engine.dispose()


def test_0012_carries_metric_points_over_and_back(empty_db_url: str) -> None:
    """Points logged before 0012 (one row each) come through as chunks and back, exactly,
    per-point times included; one logging call (one timestamp) becomes one chunk."""
    import uuid  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    run = uuid.uuid4()
    first, second = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    points = [
        ("loss", 3, 0.5, first),
        ("loss", 1, 1 / 3, first),
        ("acc", 1, 0.25, first),
        ("loss", 3, 0.25, second),
        ("loss", 2, 0.75, second),
    ]
    try:
        schema.upgrade(engine, "0011")
        runs, metrics = _tables_before_0012()
        with engine.begin() as conn:
            conn.execute(
                runs.insert().values(
                    id=run,
                    kind="training",
                    name="old",
                    status="running",
                    params={},
                    tags=[],
                    created_at=first,
                )
            )
            conn.execute(
                metrics.insert(),
                [
                    {"run_id": run, "key": k, "step": s, "value": v, "at": t}
                    for k, s, v, t in points
                ],
            )
        schema.upgrade(engine)  # through 0012, to head (a ledger opens only there)
        with Ledger.open(settings=load_settings(db_url=empty_db_url)) as ledger:
            loss = ledger.runs.metric_series(run, "loss")
            assert [(p.step, p.value, p.at) for p in loss] == [
                (1, 1 / 3, first),
                (2, 0.75, second),
                (3, 0.5, first),
                (3, 0.25, second),
            ]
            assert ledger.runs.latest_metrics(run) == {"loss": 0.25, "acc": 0.25}
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM metric_chunks").scalar() == 3
        schema.downgrade(engine, "0011")
        with engine.connect() as conn:
            back = conn.exec_driver_sql(
                "SELECT key, step, value FROM metrics ORDER BY key, id"
            ).all()
        # each key's points in logged order (the order across keys is not kept)
        logged = sorted(points, key=lambda point: point[0])
        assert [tuple(r) for r in back] == [(k, s, v) for k, s, v, _at in logged]
    finally:
        engine.dispose()


def _tables_before_0012() -> tuple[sa.TableClause, sa.TableClause]:
    """The runs and metrics tables as revision 0011 left them (the models have moved on)."""
    from docledger.db.types import JSONType, UTCDateTime  # noqa: PLC0415

    runs = sa.table(
        "runs",
        *(sa.column(name, sa.String()) for name in ("kind", "name", "status")),
        sa.column("id", sa.Uuid()),
        sa.column("params", JSONType),
        sa.column("tags", JSONType),
        sa.column("created_at", UTCDateTime(timezone=True)),
    )
    metrics = sa.table(
        "metrics",
        sa.column("run_id", sa.Uuid()),
        sa.column("key", sa.String()),
        sa.column("step", sa.Integer()),
        sa.column("value", sa.Float()),
        sa.column("at", UTCDateTime(timezone=True)),
    )
    return runs, metrics


def test_0013_keeps_job_history_and_the_claim_order(empty_db_url: str) -> None:
    """0013 rebuilds ``jobs`` on SQLite: with foreign keys on, that DROP cascaded into
    ``job_events`` (every event was lost), and the rebuilt claim index lost ``priority DESC``.
    Both checked up, down and up again, on both dialects."""
    import uuid  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from docledger.db.types import JSONType, UTCDateTime  # noqa: PLC0415

    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    stamp = UTCDateTime(timezone=True)
    jobs = sa.table(
        "jobs",
        *(sa.column(n, sa.String()) for n in ("queue", "task", "status")),
        *(sa.column(n, sa.Integer()) for n in ("priority", "attempts", "max_attempts", "progress")),
        sa.column("id", sa.Uuid()),
        sa.column("payload", JSONType),
        *(sa.column(n, stamp) for n in ("run_after", "created_at", "updated_at")),
    )
    events = sa.table(
        "job_events",
        sa.column("id", sa.Uuid()),
        sa.column("job_id", sa.Uuid()),
        sa.column("event", sa.String()),
        sa.column("to_status", sa.String()),
        sa.column("attempt", sa.Integer()),
        sa.column("details", JSONType),
        sa.column("at", stamp),
    )
    when = datetime(2026, 1, 1, tzinfo=UTC)
    job = uuid.uuid4()

    def claim_index() -> str:
        sql = (
            "SELECT sql FROM sqlite_master WHERE name = 'ix_jobs_claim'"
            if engine.dialect.name == "sqlite"
            else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_jobs_claim'"
        )
        with engine.connect() as conn:
            return str(conn.exec_driver_sql(sql).scalar())

    def history() -> int:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM job_events").scalar() or 0)

    try:
        schema.upgrade(engine, "0012")
        with engine.begin() as conn:
            conn.execute(
                jobs.insert().values(
                    id=job,
                    queue="default",
                    task="t",
                    status="queued",
                    priority=0,
                    attempts=0,
                    max_attempts=3,
                    progress=0,
                    payload={},
                    run_after=when,
                    created_at=when,
                    updated_at=when,
                )
            )
            conn.execute(
                events.insert().values(
                    id=uuid.uuid4(),
                    job_id=job,
                    event="enqueued",
                    to_status="queued",
                    attempt=0,
                    details={},
                    at=when,
                )
            )
        for step in ("0013", "0012", "0013"):
            (schema.upgrade if step == "0013" else schema.downgrade)(engine, step)
            assert history() == 1, step
            assert "priority DESC" in claim_index(), step
        schema.upgrade(engine)
        assert history() == 1
        assert schema.check(engine) == []
    finally:
        engine.dispose()


def test_sqlite_migrations_refuse_a_connection_in_a_transaction(empty_db_url: str) -> None:
    """On SQLite a table rebuild needs foreign keys off, which a transaction cannot switch:
    migrating an existing SQLite database through a caller's connection is refused, nothing
    changed. PostgreSQL migrates on a caller's connection as before."""
    from docledger.errors import ConfigurationError  # noqa: PLC0415

    engine = create_sync_engine(load_settings(db_url=empty_db_url))
    try:
        schema.upgrade(engine, "0012")
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                with pytest.raises(ConfigurationError, match="through its engine"):
                    schema.upgrade(conn)
            else:
                schema.upgrade(conn)
        expected = "0012" if engine.dialect.name == "sqlite" else schema.head_revision()
        assert schema.schema_state(engine).current == expected
    finally:
        engine.dispose()


def test_0016_carries_findings_and_their_links_over(empty_db_url: str, tmp_path: object) -> None:
    """Findings written by hand before 0016: the text body becomes ``summary``, the JSON data
    becomes ``body``, and a link's target id fills its typed column when the row exists."""
    import uuid  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from docledger.db.types import JSONType, UTCDateTime  # noqa: PLC0415

    settings = load_settings(db_url=empty_db_url, blob_root=str(tmp_path))
    with Ledger.open(settings=settings) as ledger:
        added = ledger.documents.create(b"one line of text", external_key="a.txt")
        (outcome,) = ledger.extractions.run([added.document_id])
        segment = ledger.segments.of_extraction(outcome.extraction_id)[0]
        workspace = ledger.workspaces.get().id
    engine = create_sync_engine(settings)
    stamp = UTCDateTime(timezone=True)
    findings = sa.table(
        "findings",
        sa.column("id", sa.Uuid()),
        sa.column("workspace_id", sa.Uuid()),
        *(sa.column(n, sa.String()) for n in ("kind", "title", "body", "status")),
        sa.column("data", JSONType),
        *(sa.column(n, stamp) for n in ("created_at", "updated_at")),
    )
    links = sa.table(
        "finding_links",
        sa.column("id", sa.Uuid()),
        sa.column("finding_id", sa.Uuid()),
        *(sa.column(n, sa.String()) for n in ("target_type", "target_id", "relation")),
        sa.column("created_at", stamp),
    )
    when = datetime(2026, 1, 1, tzinfo=UTC)
    finding = uuid.uuid4()
    try:
        schema.downgrade(engine, "0015")
        with engine.begin() as conn:
            conn.execute(
                findings.insert().values(
                    id=finding,
                    workspace_id=workspace,
                    kind="feature",
                    title="t",
                    body="free text",
                    status="candidate",
                    data={"k": 1},
                    created_at=when,
                    updated_at=when,
                )
            )
            for target_type, target_id in (("segment", str(segment.id)), ("run", "nope")):
                conn.execute(
                    links.insert().values(
                        id=uuid.uuid4(),
                        finding_id=finding,
                        target_type=target_type,
                        target_id=target_id,
                        relation="supports",
                        created_at=when,
                    )
                )
        schema.upgrade(engine)
        assert schema.check(engine) == []
        with Ledger.open(settings=settings) as ledger:
            moved = ledger.findings.get(finding)
            assert (moved.summary, moved.body, moved.revision, moved.stale) == (
                "free text",
                {"k": 1},
                1,
                False,
            )
            cited = ledger.findings.evidence(finding)
            by_type = {e.link.target_type: e for e in cited}
            assert by_type["segment"].exists
            assert by_type["segment"].text == segment.text
            assert not by_type["run"].exists  # kept, untyped: it reads as gone
    finally:
        engine.dispose()


def test_0017_carries_exports_over_and_back(empty_db_url: str, tmp_path: object) -> None:
    """Export rows written before 0017: the single format becomes a one-item list, the scope
    becomes the selection, ``completed`` becomes ``succeeded``; and back on downgrade."""
    import uuid  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from docledger.db.types import JSONType, UTCDateTime  # noqa: PLC0415

    settings = load_settings(db_url=empty_db_url, blob_root=str(tmp_path))
    with Ledger.open(settings=settings) as ledger:
        workspace = ledger.workspaces.get().id
    engine = create_sync_engine(settings)
    exports = sa.table(
        "exports",
        sa.column("id", sa.Uuid()),
        sa.column("workspace_id", sa.Uuid()),
        sa.column("scope", JSONType),
        sa.column("validation", JSONType),
        *(sa.column(n, sa.String()) for n in ("format", "status")),
        sa.column("created_at", UTCDateTime(timezone=True)),
    )
    done, waiting = uuid.uuid4(), uuid.uuid4()
    try:
        schema.downgrade(engine, "0016")
        with engine.begin() as conn:
            for key, fmt, status in ((done, "coco", "completed"), (waiting, "csv", "pending")):
                conn.execute(
                    exports.insert().values(
                        id=key, workspace_id=workspace, scope={"document": "a.pdf"},
                        validation={}, format=fmt, status=status,
                        created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    )
                )  # fmt: skip
        schema.upgrade(engine)
        assert schema.check(engine) == []
        with Ledger.open(settings=settings) as ledger:
            moved = ledger.exports.get(done)
            assert (moved.formats, moved.status, moved.selection) == (
                ["coco"],
                "succeeded",
                {"document": "a.pdf"},
            )
            assert ledger.exports.get(waiting).formats == ["csv"]
        schema.downgrade(engine, "0016")
        with engine.connect() as conn:
            back = dict(conn.execute(sa.select(exports.c.id, exports.c.status)).all())
            formats = dict(conn.execute(sa.select(exports.c.id, exports.c.format)).all())
        assert back == {done: "completed", waiting: "pending"}
        assert formats == {done: "coco", waiting: "csv"}
        schema.upgrade(engine)
    finally:
        engine.dispose()


def test_0018_feeds_the_vector_files_from_vectors_written_before(
    empty_db_url: str, tmp_path: object
) -> None:
    """Vectors stored before 0018 carry ``seq`` 0 and are still searched (the files read
    them on their first catch-up); afterwards a delete moves ``removal_counter`` through the
    trigger, and a downgrade goes back to the old trigger."""
    import uuid  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from docledger.db.types import UTCDateTime  # noqa: PLC0415

    settings = load_settings(db_url=empty_db_url, blob_root=str(tmp_path))
    engine = create_sync_engine(settings)
    spaces = sa.table(
        "embedding_spaces", sa.column("name", sa.String()), sa.column("change_counter")
    )
    try:
        with Ledger.open(settings=settings) as ledger:
            created = ledger.documents.create(b"before 0018", external_key="b")
            rec = ledger.extractions.record(
                created.version_id, "x", "1", {},
                [{"kind": "chunk", "text": f"t{i}"} for i in range(4)],
            )  # fmt: skip
            segs = ledger.segments.of_extraction(rec.extraction.id)
            ledger.embeddings.create_space("old", "m", 3, "cosine")
            workspace = ledger.workspaces.get().id
        schema.downgrade(engine, "0017")  # rows written by hand, as the old schema had them
        embeddings = sa.table(
            "embeddings",
            *(sa.column(n, sa.Uuid()) for n in ("id", "workspace_id", "space_id", "segment_id")),
            sa.column("vector", sa.LargeBinary()),
            sa.column("created_at", UTCDateTime(timezone=True)),
        )
        with engine.begin() as conn:
            space_id = conn.execute(
                sa.text("SELECT id FROM embedding_spaces WHERE name = 'old'")
            ).scalar_one()
            space_id = space_id if isinstance(space_id, uuid.UUID) else uuid.UUID(space_id)
            for n, seg in enumerate(segs):
                conn.execute(
                    embeddings.insert().values(
                        id=uuid.uuid4(), workspace_id=workspace, space_id=space_id,
                        segment_id=seg.id, created_at=datetime(2026, 1, 1, tzinfo=UTC),
                        vector=np.array([1.0, n, 0.0], dtype="<f4").tobytes(),
                    )
                )  # fmt: skip
            conn.execute(spaces.update().values(change_counter=1))
        schema.upgrade(engine)
        assert schema.check(engine) == []
        with Ledger.open(settings=settings) as ledger:
            hits = ledger.search.vector([1.0, 0.0, 0.0], k=4, space="old")
            assert [h.segment_id for h in hits] == [s.id for s in segs]
            with engine.begin() as conn:
                conn.execute(
                    sa.text("DELETE FROM segments WHERE id = :id"),
                    {"id": segs[0].id.hex if engine.dialect.name == "sqlite" else segs[0].id},
                )
                moved = conn.execute(
                    sa.text("SELECT removal_counter FROM embedding_spaces WHERE name = 'old'")
                ).scalar_one()
            assert moved == 1
            again = ledger.search.vector([1.0, 0.0, 0.0], k=4, space="old")
            assert [h.segment_id for h in again] == [s.id for s in segs[1:]]
        schema.downgrade(engine, "0017")
        assert "removal_counter" not in {
            c["name"] for c in sa.inspect(engine).get_columns("embedding_spaces")
        }
        schema.upgrade(engine)
    finally:
        engine.dispose()


def test_0020_numbers_model_names_per_workspace(empty_db_url: str, tmp_path: object) -> None:
    """Models stored before 0020 without a workspace keep their numbers and stage; afterwards
    each workspace numbers the same name from v1, and downgrading refuses while two
    workspaces share a name (the store-wide rule could not hold)."""
    import uuid  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from docledger.db.types import JSONType, UTCDateTime  # noqa: PLC0415

    settings = load_settings(db_url=empty_db_url, blob_root=str(tmp_path))
    engine = create_sync_engine(settings)
    models = sa.table(
        "model_versions",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("stage", sa.String()),
        sa.column("metrics", JSONType),
        *(sa.column(n, UTCDateTime(timezone=True)) for n in ("created_at", "stage_changed_at")),
    )
    when = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        schema.upgrade(engine, "0019")
        with engine.begin() as conn:
            for version, stage in ((1, "archived"), (2, "production")):
                conn.execute(
                    models.insert().values(
                        id=uuid.uuid4(), name="legacy", version=version, stage=stage,
                        metrics={}, created_at=when, stage_changed_at=when,
                    )
                )  # fmt: skip
        schema.upgrade(engine)
        assert schema.check(engine) == []
        with Ledger.open(settings=settings) as ledger:
            assert ledger.model_versions.get("legacy", stage="production").version == 2
            ledger.workspaces.create("beta")
            mine = ledger.model_versions.create("legacy", stage="production")  # default ws
            assert (mine.version, mine.workspace_id) == (1, ledger.workspaces.get().id)
            with pytest.raises(InvalidInput, match="more than one workspace"):
                ledger.model_versions.get("legacy")
            a1 = ledger.model_versions.create("ocr", stage="production")
            b1 = ledger.model_versions.create("ocr", workspace="beta", stage="production")
            assert (a1.version, b1.version) == (1, 1)
            assert ledger.model_versions.get("ocr", workspace="beta").id == b1.id
        with pytest.raises(Conflict):
            schema.downgrade(engine, "0019")
        with Ledger.open(settings=settings) as ledger:  # the failed downgrade changed nothing
            assert len(ledger.model_versions.list().items) == 5
        with engine.begin() as conn:
            conn.execute(
                models.delete().where(models.c.version == 1, models.c.stage == "production")
            )
        schema.downgrade(engine, "0019")
        schema.upgrade(engine)
        assert schema.check(engine) == []
    finally:
        engine.dispose()


def test_0021_marks_superseded_extractions_before_and_after(
    empty_db_url: str, tmp_path: object
) -> None:
    """The migration marks what rows stored before it left superseded (a downgrade and
    upgrade), the triggers what later writes do: a newer run of the same extractor, a new
    version, a revert to the old one; search leaves the marked ones out either way."""
    settings = load_settings(db_url=empty_db_url, blob_root=str(tmp_path))
    engine = create_sync_engine(settings)

    def marks() -> dict[str, bool]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT s.text, e.superseded FROM extractions e "
                    "JOIN segments s ON s.extraction_id = e.id"
                )
            )
            return {body: bool(flag) for body, flag in rows}

    def found(ledger: Ledger) -> set[str]:
        return {h.text for h in ledger.search.text("old new ocr second", k=10)}

    try:
        schema.upgrade(engine)
        with Ledger.open(settings=settings) as ledger:
            first = ledger.documents.create(b"pump", external_key="p.txt").version_id
            ledger.extractions.record(first, "zones", "1", {}, [{"kind": "zone", "text": "old"}])
            ledger.extractions.record(first, "ocr", "1", {}, [{"kind": "zone", "text": "ocr"}])
            assert set(marks().values()) == {False}
            ledger.extractions.record(first, "zones", "2", {}, [{"kind": "zone", "text": "new"}])
            assert marks() == {"old": True, "ocr": False, "new": False}
            second = ledger.documents.create(b"pump 2", external_key="p.txt").version_id
            ledger.extractions.record(
                second, "zones", "1", {}, [{"kind": "zone", "text": "second"}]
            )
            assert marks() == {"old": True, "ocr": True, "new": True, "second": False}
            assert found(ledger) == {"second"}
            ledger.documents.create(b"pump", external_key="p.txt")  # back to version 1
            after = {"old": True, "ocr": False, "new": False, "second": True}
            assert marks() == after
            assert found(ledger) == {"new", "ocr"}
        schema.downgrade(engine, "0020")
        assert "superseded" not in {c["name"] for c in inspect(engine).get_columns("extractions")}
        schema.upgrade(engine)
        assert marks() == after
        assert schema.check(engine) == []
        with Ledger.open(settings=settings) as ledger:
            assert found(ledger) == {"new", "ocr"}
    finally:
        engine.dispose()
