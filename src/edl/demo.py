"""Prepare the demo: keys, synthetic drivers with portraits, imported into the registry. Idempotent."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from edl.bootstrap import Container
from edl.db.models import LicenceRow
from edl.pki import Authority


def prepare_demo(container: Container, *, count: int, seed: int, echo: Callable[[str], None]) -> list[str]:
    """Make what the demo needs if it is missing; return lines that say what is there."""
    from edl.registry.generator import generate
    from edl.registry.importer import import_file

    data_dir = container.settings.data_dir
    now = container.clock()
    authority = Authority.open(data_dir)
    if not authority.is_initialised():
        authority.init(at=now)
        echo("created the issuing-authority root certificate and a document signer (keys are owner-only)")
    with container.sessions() as s:
        existing = s.scalar(select(func.count()).select_from(LicenceRow)) or 0
    if existing == 0:
        out = data_dir / "demo-drivers.csv"
        echo(f"generating {count:,} synthetic drivers with portraits …")
        generated = generate(out, count, seed=seed, as_of=now.date(), photos=container.photos)
        echo(generated.summary())
        report = import_file(container, out, actor="demo")
        echo(report.summary())
        existing = report.accepted
    root = authority.root_certificate()
    return [
        f"data directory: {data_dir.resolve()}",
        f"database: {container.engine.url.render_as_string(hide_password=True)}",
        f"registry: {existing:,} licences",
        f"trust anchor: {root.subject.rfc4514_string()} (export with `edl trust export --out DIR`)",
    ]
