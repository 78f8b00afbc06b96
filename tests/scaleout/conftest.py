"""Fixtures of the scale-out tests: a PostgreSQL primary and its streaming replica of our own (`cluster`), and one
deployment on them (`deployment`): a data directory with the authority's keys, the schema, and two `edl serve`
instances on two ports that share the data directory, the primary (`EDL_DATABASE_URL`), the replica
(`EDL_DATABASE_REPLICA_URL`) and Redis (`EDL_REDIS_URL`).

Everything is built once per run (10–25 s, most of it starting the two servers). Without the PostgreSQL server
binaries, or with no Redis on 127.0.0.1:6379, the tests skip and say why (`pytest -ra` prints it).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from edl.bootstrap import Container, bootstrap
from edl.config import Settings
from edl.db.models import VerificationRow
from edl.db.session import transaction
from edl.issuance.elicences import issue_elicence
from edl.issuance.livecodes import make_live_code
from edl.verification.parties import register_party
from edl.verification.purposes import Purpose
from tests.scaleout.cluster import Cluster, find_server_binaries, make_cluster, run_as
from tests.scaleout.instances import AppInstance, start_all, stop_all
from tests.workflow import seed_licence

REDIS_URL = os.environ.get("EDL_TEST_SCALEOUT_REDIS_URL", "redis://127.0.0.1:6379/5")
"""The shared Redis of this machine, database 5: the limiter's keys are `edl:rl:<party id>`, and every party here is
new, so no other test's key is touched (they expire by themselves)."""

REPLICA_LAG_BOUND_SECONDS = 1.0
"""The lag docs/deploy.md ("Scale-out, as tested") promises on this topology: a suspension committed on the
primary is reported by every instance within this long. Observed on the test machine: tens of milliseconds."""


def _skip_reason() -> str | None:
    import redis

    found = find_server_binaries()
    if isinstance(found, str):
        return found
    runner = run_as()
    if isinstance(runner, str):
        return runner
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"no Redis at {REDIS_URL} ({type(exc).__name__}); the instances share their rate limits there"
    return None


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL primary (initdb) and its streaming replica (pg_basebackup -R), on free ports of 127.0.0.1."""
    reason = _skip_reason()
    if reason:
        pytest.skip(f"scale-out tests skipped: {reason}")
    bin_dir = find_server_binaries()
    runner = run_as()
    assert isinstance(bin_dir, Path) and not isinstance(runner, str)
    built = make_cluster(bin_dir, *runner)
    yield built
    built.stop()


@dataclass
class Deployment:
    """Two app instances over one primary, one replica and one Redis, and what the tests make through them."""

    cluster: Cluster
    container: Container
    """The operator's view of the primary (what the CLI opens with instance A's settings)."""
    env: dict[str, str]
    a: AppInstance
    b: AppInstance
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def licence_with_code(self) -> tuple[str, str]:
        """(licence number, a fresh 亮码 of its e-licence, valid three minutes) of a new licence on the primary, once
        the replica has it."""
        n = next(self._numbers)
        now = datetime.now(UTC)
        number = seed_licence(self.container, now, sequence=100 + n, birth=date(1980, 1, 1) + timedelta(days=n))
        issue_elicence(self.container.sessions, self.container.issuer, number, actor="scaleout-test", at=now)
        with transaction(self.container.sessions) as s:
            code = make_live_code(s, self.container.code_maker, number, at=now).text
        self.cluster.wait_replayed()
        return number, code

    def party(self, *, rate: int, replayed: bool = True) -> tuple[str, str]:
        """(party id, API key) of a new national police party limited to `rate` requests a minute; with `replayed`,
        once the replica has it (the instances check keys on the replica: a key is unknown there until then)."""
        with transaction(self.container.sessions) as s:
            party, key = register_party(
                s,
                name=f"scale-out {uuid.uuid4().hex[:8]}",
                purpose=Purpose.POLICE,
                rate_per_minute=rate,
                actor="scaleout-test",
                at=datetime.now(UTC) - timedelta(minutes=1),
            )
        if replayed:
            self.cluster.wait_replayed()
        return party.id, key

    def audit_ids(self, party_id: str) -> list[int]:
        """Ids of the party's verification-log rows on the primary."""
        with self.container.sessions() as s:
            rows = s.scalars(sa.select(VerificationRow.id).where(VerificationRow.relying_party_id == party_id))
            return list(rows)

    def ensure_running(self) -> None:
        """Bring back what a test stopped: the primary, the replica, then any killed instance."""
        for server in (self.cluster.primary, self.cluster.replica):
            if not server.is_running():
                server.start()
        start_all([i for i in (self.a, self.b) if not i.alive()])


def instance_env(settings: Settings) -> dict[str, str]:
    """The environment of every instance: only these EDL_* variables (none inherited from the test process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDL_")}
    env.update(
        EDL_DATA_DIR=str(settings.data_dir),
        EDL_DATABASE_URL=str(settings.database_url),
        EDL_DATABASE_REPLICA_URL=str(settings.database_replica_url),
        EDL_REDIS_URL=str(settings.redis_url),
        # The demo flag only lets `edl serve` start without an SMS gateway and face model; the API is unchanged.
        EDL_DEMO="true",
        EDL_FACE_PROVIDER="lenient-demo",
        EDL_LOG_LEVEL="WARNING",
        EDL_PURGE_INTERVAL_MINUTES="0",
        EDL_VERIFICATION_POOL_SIZE="4",
    )
    return env


@pytest.fixture(scope="session")
def deployment(cluster: Cluster) -> Iterator[Deployment]:
    """Keys, schema and secrets made once, then instances A and B started on them (and stopped at the end)."""
    root = Path(tempfile.mkdtemp(prefix="edl-scaleout-"))
    settings = Settings(
        data_dir=root / "data",
        database_url=cluster.primary.url(),
        database_replica_url=cluster.replica.url(),
        redis_url=REDIS_URL,
        demo=True,
    )
    container = bootstrap(settings, migrate=True)
    container.authority.init(at=datetime.now(UTC) - timedelta(hours=1))
    container.secret("otp")  # secrets made here, once: two instances starting together would race to make them
    container.notifier  # noqa: B018 - makes the Web Push (VAPID) key
    env = instance_env(settings)
    deployed = Deployment(cluster, container, env, AppInstance("A", env, root), AppInstance("B", env, root))
    try:
        start_all([deployed.a, deployed.b])
        yield deployed
    finally:
        stop_all([deployed.a, deployed.b])
        container.dispose()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def live(deployment: Deployment) -> Deployment:
    """The deployment with everything up when the test starts (an earlier test may have killed an instance or the
    primary: brought back here, not after that test, so a kill in the last test costs no restart)."""
    deployment.ensure_running()
    return deployment
