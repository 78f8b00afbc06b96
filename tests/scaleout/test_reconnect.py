"""The verification engine's checkout hook (`edl.db.session.discard_if_server_hung_up`) on the shared PostgreSQL:
a pooled connection whose backend the server ended is replaced at checkout, so the statement after it succeeds.
Needs no server binaries (the scale-out tests show the same with a real restart)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from edl.db.session import make_verification_engine
from tests.conftest import PG_URL

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(os.environ.get("EDL_TEST_SKIP_PG") == "1", reason="EDL_TEST_SKIP_PG=1: no PostgreSQL"),
]


def test_a_connection_the_server_ended_is_replaced_at_checkout_not_failed_on() -> None:
    engine = make_verification_engine(PG_URL, pool_size=1, durable=True)
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as a:
            assert a.execute(sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid}).scalar_one()
        with engine.connect() as conn:  # the pool's only connection is the dead one: replaced, not used
            assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
        admin.dispose()
