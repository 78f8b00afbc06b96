"""SQLAlchemy models. The registry tables mirror `edl.domain.licence.Licence`; conversion lives in
`edl.registry.mapping` so the domain stays free of the ORM."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger primary keys that still autoincrement on SQLite.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LicenceRow(Base):
    """One driving licence (机动车驾驶证) in the registry."""

    __tablename__ = "licences"

    number: Mapped[str] = mapped_column(String(18), primary_key=True)
    file_number: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[int] = mapped_column(SmallInteger)
    nationality: Mapped[str] = mapped_column(String(3))
    birth_date: Mapped[date] = mapped_column(Date)
    address: Mapped[str] = mapped_column(String(256))
    classes: Mapped[str] = mapped_column(String(64))
    first_issue: Mapped[date] = mapped_column(Date)
    validity_term: Mapped[str] = mapped_column(String(8))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    authority_code: Mapped[str] = mapped_column(String(6), index=True)
    authority_name: Mapped[str] = mapped_column(String(64))
    authority_city: Mapped[str] = mapped_column(String(32))
    statuses: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(SmallInteger, default=0)
    points_cycle_start: Mapped[date | None] = mapped_column(Date)
    photo_ref: Mapped[str | None] = mapped_column(String(64))
    photo_compliant: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Incremented by every change; later issues compare it to void or refresh e-licences."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # Prefix search (LIKE 'x%') uses these on PostgreSQL whatever the database collation is.
        Index("ix_licences_number_pattern", "number", postgresql_ops={"number": "varchar_pattern_ops"}),
        Index("ix_licences_name_pattern", "name", postgresql_ops={"name": "varchar_pattern_ops"}),
    )


class RecordRow(Base):
    """One driving-record entry (驾驶记录)."""

    __tablename__ = "driving_record"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    licence_number: Mapped[str] = mapped_column(ForeignKey("licences.number", ondelete="CASCADE"), index=True)
    on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(256))
    points: Mapped[int] = mapped_column(SmallInteger, default=0)


class RegistryEvent(Base):
    """Append-only log of registry changes (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "registry_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    licence_number: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    licence_version: Mapped[int] = mapped_column(Integer)
    """The licence's version after this event."""

    __table_args__ = (Index("ix_registry_events_licence_id", "licence_number", "id"),)


class ImportRun(Base):
    """One `edl registry import`: what came in, what was refused, and where the rejects went."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    actor: Mapped[str] = mapped_column(String(128))


class ElicenceRow(Base):
    """An issued e-licence (电子驾驶证): which licence version it reflects, who signed it, and whether it is void.

    The mdoc itself is not stored: it is re-signed from the registry on demand (short MSO validity keeps status
    fresh), so only what is needed to re-sign, void and audit it lives here.
    """

    __tablename__ = "elicences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    licence_number: Mapped[str] = mapped_column(ForeignKey("licences.number", ondelete="RESTRICT"), index=True)
    licence_version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """validUntil of the newest MSO signed for it."""
    signer_serial: Mapped[str] = mapped_column(String(64))
    device_key: Mapped[bytes] = mapped_column(LargeBinary)
    """The holder device's public key as a COSE_Key (CBOR)."""
    photo_ref: Mapped[str] = mapped_column(String(64))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_elicences_active", "licence_number", "voided_at"),)
