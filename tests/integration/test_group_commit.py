"""Group commit of the verification log (issue 14): concurrent API verifications share one insert per batch, each
answer waits for its batch's commit, and a database that goes away mid-load never leaves an answer without its row.

PostgreSQL only (SQLite keeps the blocking path: one row in the read's transaction). The requests run concurrently
in ONE event loop through httpx's ASGI transport, as a server process serves them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from edl.bootstrap import Container, bootstrap
from edl.config import Settings
from edl.db.models import VerificationRow
from edl.verification.purposes import Purpose
from edl.verification.ratelimit import MemoryRateLimiter
from edl.web import create_app
from tests.integration.test_online_verification import NOW, Clock, live_code, party_key, seeded
from tests.workflow import prepare

pytestmark = pytest.mark.integration
API = "/api/v1/verifications"


@pytest.fixture
def tagged(container: Container, request: pytest.FixtureRequest) -> Iterator[tuple[Container, str]]:
    """A container on the PostgreSQL test schema whose connections carry an application_name of their own, so a test
    can cut exactly its own connections (other tests may share the server). An indirect parameter is the group
    commit's window in milliseconds (`EDL_VERIFICATION_LOG_WINDOW_MS`; default 2)."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite writes the log row in the read's transaction (no group commit)")
    name = f"edl-gc-{uuid.uuid4().hex[:10]}"
    url = container.settings.resolved_database_url + quote(f" -capplication_name={name}")
    window = getattr(request, "param", 2.0)
    c = bootstrap(Settings(data_dir=container.settings.data_dir, database_url=url, verification_log_window_ms=window))
    prepare(c, NOW)
    c.clock = Clock(NOW)
    c.rate_limiter = MemoryRateLimiter()
    yield c, name
    c.dispose()


def rows(container: Container) -> dict[int, VerificationRow]:
    with container.sessions() as s:
        return {r.id: r for r in s.scalars(sa.select(VerificationRow))}


async def _post_many(container: Container, key: str, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://edl.test") as client:
        answers = await asyncio.gather(*(client.post(API, json=b, headers=headers) for b in bodies))
    await container.online_verifier.aclose()
    return list(answers)


@pytest.mark.parametrize("tagged", [2.0, 0.0], indirect=True, ids=["window-2ms", "window-0"])
def test_n_concurrent_verifications_write_exactly_n_rows_in_fewer_batches(
    tagged: tuple[Container, str], tmp_path: Path
) -> None:
    container, _ = tagged
    number, _ = seeded(container, tmp_path)
    _, key = party_key(container, Purpose.POLICE)
    code = live_code(container, number)
    n = 120
    bodies = [{"code": code}] * (n - 20) + [{"code": "EDL1:not-a-code"}] * 20  # refusals are logged too
    pg = container.online_verifier.pg_path()
    assert pg is not None and pg._window == container.settings.verification_log_window_ms / 1000
    pg.statements = sent = []
    answers = asyncio.run(_post_many(container, key, bodies))
    assert [a.status_code for a in answers] == [200] * n
    ids = [a.json()["verification_id"] for a in answers]
    logged = rows(container)
    assert len(logged) == n and sorted(ids) == sorted(logged)  # exactly N rows, each answer names its own
    for answer, new_id in zip(answers, ids, strict=True):
        body, row = answer.json(), logged[new_id]
        assert (row.valid, row.status) == (body["valid"], body["status"])  # the id belongs to this answer's row
        assert row.licence_number == (number if body["valid"] else None)
    inserts = [s for s in sent if s.startswith("INSERT")]
    # Without a window, rows that arrive while a batch is being written form the next one: still grouped.
    assert 1 <= len(inserts) < n / 4, f"{len(inserts)} inserts for {n} rows: nothing was grouped"


def test_answers_wait_for_the_commit_and_a_failed_batch_answers_503(
    tagged: tuple[Container, str], tmp_path: Path
) -> None:
    container, _ = tagged
    number, _ = seeded(container, tmp_path)
    _, key = party_key(container, Purpose.RENTAL)
    code = live_code(container, number)
    # The log's primary points at a port nobody listens on: every verification is refused, none answered 200.
    pg = container.online_verifier.pg_path()
    assert pg is not None
    pg._write = {**pg._write, "port": 1, "host": "127.0.0.1"}
    answers = asyncio.run(_post_many(container, key, [{"code": code}] * 10))
    assert {a.status_code for a in answers} == {503}
    assert answers[0].json()["error"] == "unavailable" and answers[0].headers["Retry-After"] == "5"
    assert rows(container) == {}


def _terminate(container: Container, name: str) -> int:
    with container.engine.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            ).all()
        )


async def _load_with_cut(container: Container, key: str, code: str, name: str) -> list[Any]:
    """Three waves of concurrent verifications; the database cuts every connection of this test during the second."""
    app = create_app(container)
    headers = {"Authorization": f"Bearer {key}"}
    answers: list[Any] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edl.test") as client:

        async def one() -> Any:
            return await client.post(API, json={"code": code}, headers=headers)

        for wave in range(3):
            tasks = [asyncio.create_task(one()) for _ in range(60)]
            if wave == 1:
                await asyncio.sleep(0.005)
                cut = await asyncio.to_thread(_terminate, container, name)
                assert cut >= 1
            answers += await asyncio.gather(*tasks)
    await container.online_verifier.aclose()
    return answers


def test_connections_cut_mid_load_leave_no_answer_without_its_row(
    tagged: tuple[Container, str], tmp_path: Path
) -> None:
    container, name = tagged
    number, _ = seeded(container, tmp_path)
    _, key = party_key(container, Purpose.RENTAL)
    code = live_code(container, number)
    answers = asyncio.run(_load_with_cut(container, key, code, name))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 503}
    logged = rows(container)
    answered = [a.json()["verification_id"] for a in answers if a.status_code == 200]
    assert all(i in logged for i in answered)  # every answer given has its row
    assert len(set(answered)) == len(answered)
    assert statuses[-60:] == [200] * 60  # the connections come back by themselves
