"""The API against its own OpenAPI document, on both dialects: schemathesis generates requests
for every operation (bounded: a few examples each, derandomized so CI is repeatable) and sends
them with an owner key. No answer is a 5xx, and every error is a problem document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.server_api import PROBLEM, serve

EXAMPLES = 6


def _content_type(response: Any) -> str:
    """schemathesis keeps each header as a list of values, keyed as sent."""
    for key, value in response.headers.items():
        if key.lower() == "content-type":
            return str(value[0] if isinstance(value, list) else value)
    return ""


def test_generated_requests_get_no_5xx_and_errors_are_problems(
    db_url: str, blob_root: Path
) -> None:
    with serve(db_url, blob_root) as api:
        added = api.upload("notes.txt", b"Pump P1 runs at 40 bar.", extract="true")
        assert added.status_code == 201
        app = api.client.app
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)  # type: ignore[arg-type]
        auth = api.as_("owner")
        seen: dict[str, set[int]] = {}
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 40

        for operation in operations:
            name = f"{operation.method.upper()} {operation.path}"

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                response = case.call(headers=auth)
                seen.setdefault(name, set()).add(response.status_code)  # noqa: B023
                body = response.text[:300]
                if response.status_code >= 500:
                    failures.append(f"{name} -> {response.status_code}: {body}")  # noqa: B023
                elif response.status_code >= 400 and not _content_type(response).startswith(
                    PROBLEM
                ):
                    failures.append(f"{name} -> {response.status_code} not a problem: {body}")  # noqa: B023

            check()
        assert failures == []
        assert len(seen) == len(operations)
        # the generated requests reached past validation somewhere: not everything was refused
        assert any(code < 400 for codes in seen.values() for code in codes)


@pytest.fixture(autouse=True)
def _quiet_hypothesis(monkeypatch: pytest.MonkeyPatch) -> None:
    """schemathesis reads its own settings from the environment: none leak in from outside."""
    for name in ("SCHEMATHESIS_HOOKS", "SCHEMATHESIS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
