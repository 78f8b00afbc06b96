"""Migrations are reviewed like code: they must match the models and run both ways on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from edl.db.migrate import current_revision, downgrade, include_object, upgrade
from edl.db.models import Base
from tests.conftest import BACKENDS

pytestmark = pytest.mark.integration


@pytest.fixture(params=BACKENDS)
def fresh_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('mig') / 'm.db'}")
        yield engine
        engine.dispose()
        return
    import uuid

    from tests.conftest import PG_URL

    schema = f"edl_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    yield engine
    engine.dispose()
    with admin.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_downgrade_upgrade_and_models_match(fresh_engine: sa.Engine) -> None:
    upgrade(fresh_engine)
    head = current_revision(fresh_engine)
    assert head is not None
    downgrade(fresh_engine, "base")
    assert current_revision(fresh_engine) is None
    upgrade(fresh_engine)
    assert current_revision(fresh_engine) == head
    with fresh_engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object(conn.dialect.name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
