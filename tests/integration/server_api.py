"""The HTTP API over a real database (both dialects): a TestClient around the app, and keys
of every role in two workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from docledger import Ledger
from docledger.config import Settings, load_settings
from docledger.server import create_app

PROBLEM = "application/problem+json"
PDF = Path(__file__).resolve().parents[2] / "examples" / "data" / "invoice-and-plan.pdf"


@dataclass
class Api:
    client: TestClient
    ledger: Ledger
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def get(self, path: str, who: str = "viewer", **kw: Any) -> Any:
        return self.client.get(
            f"/api/v1{path}", headers={**self.as_(who), **kw.pop("headers", {})}, **kw
        )

    def post(self, path: str, who: str = "editor", **kw: Any) -> Any:
        return self.client.post(
            f"/api/v1{path}", headers={**self.as_(who), **kw.pop("headers", {})}, **kw
        )

    def patch(self, path: str, who: str = "editor", **kw: Any) -> Any:
        return self.client.patch(
            f"/api/v1{path}", headers={**self.as_(who), **kw.pop("headers", {})}, **kw
        )

    def delete(self, path: str, who: str = "owner", **kw: Any) -> Any:
        return self.client.delete(
            f"/api/v1{path}", headers={**self.as_(who), **kw.pop("headers", {})}, **kw
        )

    def upload(self, name: str, data: bytes, who: str = "editor", **form: Any) -> Any:
        return self.post("/documents", who, files={"file": (name, data)}, data=form)


def settings_for(db_url: str, blob_root: Path) -> Settings:
    return load_settings(db_url=db_url, blob_root=str(blob_root))


@contextmanager
def serve(db_url: str, blob_root: Path, **options: Any) -> Iterator[Api]:
    """Workspaces ``a`` (keys ``viewer``, ``editor``, ``owner``) and ``b`` (key ``other``)."""
    settings = settings_for(db_url, blob_root)
    with Ledger.open(settings=settings) as ledger:
        ledger.workspaces.ensure("a")
        ledger.workspaces.ensure("b")
        ledger.users.ensure("reviewer@example.org")
        keys = {
            role: ledger.api_keys.create("a", role, role, actor="reviewer@example.org").secret
            for role in ("viewer", "editor", "owner")
        }
        keys["other"] = ledger.api_keys.create("b", "other", "owner").secret
        with TestClient(create_app(settings, **options), raise_server_exceptions=False) as client:
            yield Api(client, ledger, keys)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:docledger:problem:")
    return dict(body)
