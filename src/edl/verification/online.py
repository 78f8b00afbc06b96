"""Online verification for relying parties: a 亮码 or a scanned barcode, checked against the LIVE registry.

`OnlineVerifier.verify` (and `averify` for an event loop) is what `POST /api/v1/verifications` and the verifier
page call; the composition root builds one per container (`Container.online_verifier`):

1. **Code** (``EDL1:...``): `edl.credentials.livecode.verify_code` with the authority's root and every document-signer
   certificate (signature, signer chain, time). **Barcode**: the short-lived number under the Code 128
   (`edl.credentials.barcode`: the e-licence's status-list index, the time step and an HMAC tag), accepted only in
   its own step and the next; an older one is refused as `barcode_expired`, a wrong tag as `barcode_invalid`, the
   fixed e-licence id as `barcode_static_id`, all before the registry is read. A barcode carries no signature, so
   the answer says so in `warnings` and rests on the registry alone.
2. The e-licence and its licence are read in one query (`edl.verification.lookup.judge`: by e-licence id, or by
   status-list index for a barcode) on the read replica when one is configured (`EDL_DATABASE_REPLICA_URL`: a
   suspension reaches the answers within the replica's lag, docs/deploy.md), else on the primary, where a
   suspension entered a moment ago counts at once. The status is `edl.domain.credential_status.credential_status`
   of the registry's statuses, the licence's validity, the e-licence's void (a voided e-licence is revoked) and its
   sanction (``suspended_until`` ahead). The code's own status snapshot (``st``) is for offline verifiers: online
   the registry decides.
3. A code that verifies but whose e-licence the registry does not know has status `unknown`; the purpose's policy
   decides (police refuse; the others accept with a warning, seeing only what the code itself says). A barcode the
   registry does not know is refused (nothing was verified at all).
4. Only the fields the party's purpose allows are returned (`Party.fields`), and only for a licence inside the
   party's authority scope (`Party.scope`, `edl.domain.scope`): outside it the answer is `valid: false`, status
   `unknown`, error `outside_scope`, no fields and no registry status (logged like every other call).
5. One `VerificationRow` is written for every call that reaches here, valid or not (bad codes too), always on the
   primary, and the answer is given only once it has committed. The API on PostgreSQL (`averify`,
   `edl.verification.online_pg`) runs in the event loop with asyncpg and writes the rows of concurrent requests
   together (`edl.verification.groupcommit`: one insert per batch of at most 2 ms or 200 rows; a failed batch
   refuses all its verifications). The blocking path (`verify`: the verifier page, the CLI; and the API on SQLite)
   writes its row on SQLite in the same transaction as the read, on PostgreSQL on a dedicated verification engine
   (`edl.db.session.verification_engine_options`: autocommit, no BEGIN/COMMIT, no pre-ping). On PostgreSQL the log
   is durable: the answer waits for its row's WAL flush (one per batch on the group-commit path). A deployment may
   set `EDL_VERIFICATION_DURABLE_LOG=false` (``synchronous_commit=off`` on the log's connections only): the commit
   then returns before the WAL reaches disk, so a database crash can lose the last fraction of a second of
   verification-log rows whose answers were given (never registry data; the database stays consistent).

The verifier keeps, for its lifetime: the trust anchors (root and DS certificates, rebuilt when the signer index
changes: `Authority.signers()` re-reads on change), the portraits (`edl.verification.lookup.Portraits`), the
dedicated engines (disposed with the main engine), the asyncpg path (its pools and log writer per event loop, closed
at the app's shutdown: `aclose`) and, per event loop, the limiter of worker threads.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from cryptography import x509
from sqlalchemy import Engine, event, select
from sqlalchemy.engine import Connection

from edl.credentials.barcode import BarcodeRefused, BarcodeScheme
from edl.credentials.livecode import CodeResult, verify_code
from edl.db.models import ElicenceRow
from edl.db.session import make_verification_engine
from edl.domain.credential_status import CredentialStatus
from edl.pki.trust import TrustStore, trust_store
from edl.storage.photos import PhotoStore
from edl.verification.groupcommit import WINDOW_SECONDS
from edl.verification.log import insert_row, log_values
from edl.verification.lookup import PORTRAIT_CACHE_SIZE, Portraits, Verdict, judge, judge_row
from edl.verification.online_pg import PgVerificationPath, VerificationUnavailable
from edl.verification.result import (
    BARCODE_WARNING,
    CHANNELS,
    DEVICE_NOT_CURRENT,
    METHOD_BARCODE,
    METHOD_CODE,
    METHOD_OPENID4VP,
    OnlineResult,
    Problem,
)

if TYPE_CHECKING:
    from edl.pki import Authority
    from edl.verification.parties import Party


class TrustAnchors:
    """The root (as a TrustStore) and DS certificates of one Authority, rebuilt when its signer records change."""

    def __init__(self, authority: Authority) -> None:
        self._authority = authority
        self._lock = threading.Lock()
        self._entry: tuple[tuple[int, ...], TrustStore, tuple[x509.Certificate, ...]] | None = None

    def get(self) -> tuple[TrustStore, tuple[x509.Certificate, ...]]:
        records = self._authority.signers()  # re-read only when the signer index changes
        stamp = tuple(id(r.certificate) for r in records)
        hit = self._entry
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2]
        with self._lock:
            store = trust_store([self._authority.root_certificate()])
            certs = tuple(r.certificate for r in records)
            self._entry = (stamp, store, certs)
            return store, certs


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What is known before the database is asked: the method, the code's verification and its e-licence id, or the
    barcode's serial (status-list index) or why the barcode was refused."""

    method: str
    code_result: CodeResult | None
    elicence_id: str | None
    now: datetime
    serial: int | None = None
    barcode_refused: Problem | None = None


class OnlineVerifier:
    """Online verification of codes and barcodes for relying parties (see the module doc).

    Takes the main database engine (the registry and the verification log), the issuing authority (trust anchors),
    the barcode scheme, the photo store (portraits), the verification engine's `pool_size` (also the most worker
    threads verifying at once per event loop), `durable_log` (wait for the WAL on every log insert), the group
    commit's `log_window` (seconds; `edl.verification.groupcommit`) and the clock-skew `leeway` a code's times are
    given.
    """

    def __init__(
        self,
        engine: Engine,
        authority: Authority,
        barcodes: BarcodeScheme,
        photos: PhotoStore,
        *,
        pool_size: int,
        durable_log: bool,
        leeway: timedelta,
        log_window: float = WINDOW_SECONDS,
        portrait_cache_size: int = PORTRAIT_CACHE_SIZE,
        replica_url: str | None = None,
        lean: bool = True,
    ) -> None:
        self._engine = engine
        self._replica_url = replica_url
        self._lean = lean
        self._barcodes = barcodes
        self._pool_size = pool_size
        self._durable_log = durable_log
        self._log_window = log_window
        self._leeway = leeway
        self._anchors = TrustAnchors(authority)
        self._portraits = Portraits(photos, portrait_cache_size)
        self._lock = threading.Lock()
        self._dedicated: Engine | None = None
        self._replica: Engine | None = None
        self._pg: PgVerificationPath | None = None
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
            weakref.WeakKeyDictionary()
        )

    # --- what it keeps ---------------------------------------------------------------------------------------------

    def trust_anchors(self) -> tuple[TrustStore, tuple[x509.Certificate, ...]]:
        """(trusted roots, candidate DS certificates) of this deployment, kept while the signer index is unchanged."""
        return self._anchors.get()

    def verification_engine(self) -> Engine:
        """The dedicated verification engine (PostgreSQL; see `edl.db.session.verification_engine_options`), built
        on first use and disposed with the main engine (`Container.dispose`)."""
        hit = self._dedicated
        if hit is not None:
            return hit
        with self._lock:
            if self._dedicated is None:
                self._dedicated = make_verification_engine(
                    self._engine.url.render_as_string(hide_password=False),
                    pool_size=self._pool_size,
                    durable=self._durable_log,
                )
                self._watch_main()
            return self._dedicated

    def replica_engine(self) -> Engine:
        """Where the blocking path reads the registry: the replica's dedicated engine when one is configured
        (`EDL_DATABASE_REPLICA_URL`), else the verification engine itself (PostgreSQL)."""
        if self._replica_url is None:
            return self.verification_engine()
        hit = self._replica
        if hit is not None:
            return hit
        self.verification_engine()  # registers the disposal with the main engine
        with self._lock:
            if self._replica is None:
                self._replica = make_verification_engine(self._replica_url, pool_size=self._pool_size, durable=True)
            return self._replica

    def pg_path(self) -> PgVerificationPath | None:
        """The API's event-loop path (`edl.verification.online_pg`: asyncpg, group commit) on PostgreSQL when asyncpg
        is installed; None on SQLite, which keeps the blocking path in a worker thread."""
        if self._pg is not None or not self._lean or self._engine.dialect.name != "postgresql":
            return self._pg
        if importlib.util.find_spec("asyncpg") is None:
            return None
        with self._lock:
            if self._pg is None:
                self._watch_main()
                self._pg = PgVerificationPath(
                    self._engine.url.render_as_string(hide_password=False),
                    replica_url=self._replica_url,
                    pool_size=self._pool_size,
                    durable_log=self._durable_log,
                    window=self._log_window,
                )
            return self._pg

    async def aclose(self) -> None:
        """Close what this event loop opened for the API (the app's shutdown): pending log rows are written first."""
        if self._pg is not None:
            await self._pg.aclose()

    def _limiter(self) -> anyio.CapacityLimiter:
        """At most `pool_size` API verifications in worker threads at once (per event loop): every thread finds a
        free connection, and few threads compete for the GIL."""
        loop = asyncio.get_running_loop()
        hit = self._limiters.get(loop)
        if hit is None:
            hit = self._limiters[loop] = anyio.CapacityLimiter(self._pool_size)
        return hit

    def _watch_main(self) -> None:
        """What this verifier opened goes when the main engine is disposed (`Container.dispose`)."""
        if not event.contains(self._engine, "engine_disposed", self._main_disposed):
            event.listen(self._engine, "engine_disposed", self._main_disposed)

    def _main_disposed(self, main: Engine) -> None:
        with self._lock:
            dedicated, self._dedicated = self._dedicated, None
            replica, self._replica = self._replica, None
        for engine in (dedicated, replica):
            if engine is not None:
                engine.dispose()
        if self._pg is not None:
            self._pg.terminate()  # a loop that is still serving makes new connections on its next request

    # --- the use case ----------------------------------------------------------------------------------------------

    def verify(
        self,
        party: Party,
        *,
        code: str | None = None,
        barcode: str | None = None,
        channel: str = "api",
        client: str | None = None,
        at: datetime,
    ) -> OnlineResult:
        """Verify a code text or a barcode for `party` (exactly one of them) at `at` and log it; see the module doc.

        Blocking (for threads: the verifier page, the CLI, tests); the API's event loop uses `averify`.
        Raises ValueError when neither or both are given, or `at` is naive (a caller's bug: the web layer checks
        its input first).
        """
        prep = self.prepare(code, barcode, channel, at)
        if self._engine.dialect.name == "postgresql" and self._replica_url is not None:
            with self.replica_engine().connect() as conn:
                verdict = self._judge(conn, party, prep)
            with self.verification_engine().connect() as conn:
                verification_id = insert_row(conn, _log_values(party, prep, verdict, channel, client))
        elif self._engine.dialect.name == "postgresql":
            with self.verification_engine().connect() as conn:
                verdict, verification_id = self._check_and_log(conn, party, prep, channel=channel, client=client)
        else:
            with self._engine.begin() as conn:
                verdict, verification_id = self._check_and_log(conn, party, prep, channel=channel, client=client)
        return _result(party, prep, verdict, verification_id)

    async def averify(
        self,
        party: Party,
        *,
        code: str | None = None,
        barcode: str | None = None,
        channel: str = "api",
        client: str | None = None,
        at: datetime,
    ) -> OnlineResult:
        """`verify` for an event loop. On PostgreSQL (`pg_path`): in the loop itself, with asyncpg and the group
        commit of the log (`edl.verification.online_pg`); raises `VerificationUnavailable` when the database cannot
        be reached. On SQLite: the whole blocking verification in ONE worker-thread hop, at most `pool_size` at once
        per event loop.
        """
        pg = self.pg_path()
        if pg is not None:
            prep = self.prepare(code, barcode, channel, at)
            if prep.elicence_id is None and prep.serial is None:
                verdict = _unidentified(prep)
            else:
                row = await pg.lookup(party, elicence_id=prep.elicence_id, serial=prep.serial)
                verdict = judge_row(
                    row,
                    party,
                    self._portraits,
                    elicence_id=prep.elicence_id,
                    claims=prep.code_result.claims if prep.code_result is not None else None,
                    method=prep.method,
                    at=prep.now,
                )
            verification_id = await pg.log(_log_values(party, prep, verdict, channel, client))
            return _result(party, prep, verdict, verification_id)
        call = partial(self.verify, party, code=code, barcode=barcode, channel=channel, client=client, at=at)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter())

    def verify_presented(
        self,
        party: Party,
        *,
        licence_number: str,
        device_key: bytes,
        channel: str = "api",
        client: str | None = None,
        at: datetime,
    ) -> OnlineResult:
        """The live judgement of an mdoc whose issuer and device signatures verified (OpenID4VP): its e-licence is
        the one of `licence_number` bound to `device_key` (the COSE_Key bytes `elicences.device_key` holds), judged
        and logged like a code. A key the licence's e-licences never had answers `device_key_not_current`."""
        if at.tzinfo is None:
            raise ValueError("`at` must be timezone-aware")
        sqlite = self._engine.dialect.name != "postgresql"
        read = self._engine if sqlite else self.replica_engine()
        with read.connect() as conn:
            elicence_id = conn.execute(
                select(ElicenceRow.id)
                .where(ElicenceRow.licence_number == licence_number, ElicenceRow.device_key == device_key)
                .order_by(ElicenceRow.issued_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            prep = _Prepared(METHOD_OPENID4VP, None, elicence_id, at)
            if elicence_id is None:
                verdict = Verdict(
                    False, CredentialStatus.UNKNOWN, (DEVICE_NOT_CURRENT,), (), {}, None, None, licence_number
                )
            else:
                verdict = self._judge(conn, party, prep)
        write = self._engine.begin() if sqlite else self.verification_engine().connect()
        with write as conn:
            verification_id = insert_row(conn, _log_values(party, prep, verdict, channel, client))
        return _result(party, prep, verdict, verification_id)

    def prepare(self, code: str | None, barcode: str | None, channel: str, at: datetime) -> _Prepared:
        """Check the arguments and verify the code (signature, chain, time): CPU only, no I/O."""
        if (code is None) == (barcode is None):
            raise ValueError("give exactly one of code and barcode")
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        if at.tzinfo is None:
            raise ValueError("`at` must be timezone-aware")
        if code is not None:
            trust, signers = self._anchors.get()
            result = verify_code(code, trust, signers, at=at, leeway=self._leeway)
            eid = result.claims.elicence_id if result.valid and result.claims is not None else None
            return _Prepared(METHOD_CODE, result, eid, at)
        assert barcode is not None
        try:
            serial = self._barcodes.read(barcode, at=at)
        except BarcodeRefused as exc:
            return _Prepared(METHOD_BARCODE, None, None, at, barcode_refused=Problem(exc.code.value, exc.message))
        return _Prepared(METHOD_BARCODE, None, None, at, serial=serial)

    def _judge(self, conn: Connection, party: Party, prep: _Prepared) -> Verdict:
        """The registry's judgement (one select on `conn`), or the refusal of a code or barcode that identified
        nothing."""
        if prep.elicence_id is None and prep.serial is None:
            return _unidentified(prep)
        return judge(
            conn,
            party,
            self._portraits,
            elicence_id=prep.elicence_id,
            serial=prep.serial,
            claims=prep.code_result.claims if prep.code_result is not None else None,
            method=prep.method,
            at=prep.now,
        )

    def _check_and_log(
        self, conn: Connection, party: Party, prep: _Prepared, *, channel: str, client: str | None
    ) -> tuple[Verdict, int]:
        """The registry read and the verification-log row on `conn` (two statements on PostgreSQL, see module doc)."""
        verdict = self._judge(conn, party, prep)
        return verdict, insert_row(conn, _log_values(party, prep, verdict, channel, client))


def _unidentified(prep: _Prepared) -> Verdict:
    """The verdict on a code that did not verify or a barcode refused before the registry is read."""
    if prep.code_result is not None:
        errors = tuple(Problem.of(e) for e in prep.code_result.errors)
    else:
        assert prep.barcode_refused is not None
        errors = (prep.barcode_refused,)
    warnings: tuple[str, ...] = (BARCODE_WARNING,) if prep.method == METHOD_BARCODE else ()
    return Verdict(False, CredentialStatus.UNKNOWN, errors, warnings, {}, None, None, None)


def _log_values(party: Party, prep: _Prepared, verdict: Verdict, channel: str, client: str | None) -> dict[str, Any]:
    return log_values(
        at=prep.now,
        party_id=party.id,
        party_name=party.name,
        purpose=party.purpose.value,
        method=prep.method,
        channel=channel,
        elicence_id=verdict.elicence_id,
        licence_number=verdict.licence_number,
        valid=verdict.valid,
        status=verdict.status.value,
        errors=tuple(e.code for e in verdict.errors),
        client=client,
    )


def _result(party: Party, prep: _Prepared, verdict: Verdict, verification_id: int) -> OnlineResult:
    claims = prep.code_result.claims if prep.code_result is not None else None
    return OnlineResult(
        valid=verdict.valid,
        status=verdict.status,
        purpose=party.purpose,
        method=prep.method,
        fields=verdict.fields,
        registry_status=verdict.registry_status,
        errors=verdict.errors,
        warnings=verdict.warnings,
        checked_at=prep.now,
        verification_id=verification_id,
        elicence_id=verdict.elicence_id,
        licence_number=verdict.licence_number,
        code_expires_at=claims.expires_at if claims is not None else None,
    )


__all__ = ["OnlineVerifier", "TrustAnchors", "VerificationUnavailable"]
