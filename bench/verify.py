"""Verification throughput: offline 亮码 verify/s beside raw ECDSA P-256 verify/s, and the online API under wrk.

A plain script: it prints its figures and asserts nothing about timings.

    .venv/bin/python bench/verify.py                      # offline figures only
    .venv/bin/python bench/verify.py --online             # and POST /api/v1/verifications under wrk
    .venv/bin/python bench/verify.py --online-only --workers 2 --connections 32,64 --duration 30

Offline: a real authority in a temporary data directory signs `--codes` distinct codes with `make_code`; each round
verifies all of them with `verify_code` (one long-lived trust store, as a reader keeps), and, in the same round,
verifies as many distinct raw ECDSA P-256 signatures (64-byte payloads, DER, a pre-loaded public key). The median
of `--rounds` rounds is printed for each, with the ratio. When the status list exists (`edl.credentials.statuslist`)
the same codes are verified once more with `verify_offline` and a signed list.

Online: a dedicated PostgreSQL database (`edl_bench`, never the test database) holds `--licences` synthetic
licences (generated and imported with the registry importer's COPY path; skipped when already loaded),
`--sample` of them get real e-licences (`issue_in_session`), a relying party is registered, Uvicorn serves the real
app (`uvicorn --factory edl.asgi:create --workers N`), fresh codes are made just before each load (they live
3 minutes), and wrk (`bench/verify_wrk.lua`) POSTs `{"code": ...}` cycling through them: first `--warmup`
seconds (3) that are not reported, so each figure is the steady state rather than the first pool connections and
portrait-cache fills, then `--duration` seconds that are. Printed per run:
requests/s, p50/p90/p99 latency, the HTTP status counts (anything but 200 means the bench is wrong and is printed
loudly) and CPU per process group (psutil), which says what limits the figure. A GET /healthz run gives the
ceiling of the HTTP stack alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("EDL_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/edl_bench")
"""The bench database: its own database, so the million rows never land in the test suite's `test` database."""
ADMIN_DB = os.environ.get("EDL_BENCH_PG_ADMIN_DB", "test")
"""An existing database to connect to for CREATE DATABASE."""
DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "edl-bench-verify"
BENCH_ACTOR = "bench-verify"
LUA = HERE / "verify_wrk.lua"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- offline ------------------------------------------------------------------------------------------------------


def median_rate(count: int, seconds: Sequence[float]) -> float:
    return count / statistics.median(seconds)


def offline(n_codes: int, rounds: int, status_entries: int) -> None:
    from edl.credentials.livecode import CodeClaims, make_code, verify_code
    from edl.pki import Authority, TrustStore

    at = now_utc()
    with tempfile.TemporaryDirectory(prefix="edl-bench-offline-") as tmp:
        authority = Authority.open(Path(tmp))
        root = authority.init(at=at - timedelta(minutes=5))
        signer = authority.current_signer(at)
        signers = [r.certificate for r in authority.signers()]
        trust = TrustStore([root])

        claims = [
            CodeClaims(
                elicence_id=uuid.uuid4().hex,
                classes=("C1",) if i % 3 else ("A2", "D"),
                status="A",
                status_index=i,
                licence_valid_until=None if i % 5 == 0 else date(2031, 3, 1),
                issued_at=at,
                expires_at=at + timedelta(seconds=180),
                nonce=os.urandom(12),
            )
            for i in range(n_codes)
        ]
        codes = [make_code(c, signer) for c in claims]
        assert len(set(codes)) == n_codes
        bad = [r.errors for r in (verify_code(c, trust, signers, at=at) for c in codes) if not r.valid]
        if bad:
            sys.exit(f"BENCH IS WRONG: {len(bad)} of {n_codes} codes do not verify offline: {bad[0]}")

        public_key = signer.certificate.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        payloads = [os.urandom(64) for _ in range(n_codes)]
        signatures = [_der(signer.sign(p)) for p in payloads]
        algorithm = ec.ECDSA(hashes.SHA256())
        for p, s in zip(payloads, signatures, strict=True):
            public_key.verify(s, p, algorithm)  # raises InvalidSignature: the bench would be wrong

        def raw_round() -> float:
            started = time.perf_counter()
            for p, s in zip(payloads, signatures, strict=True):
                public_key.verify(s, p, algorithm)
            return time.perf_counter() - started

        def code_round() -> float:
            started = time.perf_counter()
            for c in codes:
                verify_code(c, trust, signers, at=at)
            return time.perf_counter() - started

        extra: dict[str, Callable[[], float]] = {}
        status_note = _status_list_round(authority, codes, claims, trust, signers, at, status_entries, extra)

        times: dict[str, list[float]] = {"raw": [], "code": [], **{k: [] for k in extra}}
        raw_round(), code_round()  # warm-up: caches of the trust store, the allocator, the CPU
        others = OtherLoad()
        for _ in range(rounds):  # interleaved, so drift in the machine's speed hits both alike
            times["raw"].append(raw_round())
            times["code"].append(code_round())
            for name, fn in extra.items():
                times[name].append(fn())

    busy_elsewhere = others.cores()
    raw = median_rate(n_codes, times["raw"])
    code = median_rate(n_codes, times["code"])
    print(f"offline: {n_codes:,} distinct codes, {rounds} rounds, median; code length {len(codes[0])} chars")
    print(f"  raw ECDSA P-256 verify          {raw:10,.0f} /s  {1e6 / raw:7.1f} us")
    print(f"  亮码 verify_code                 {code:10,.0f} /s  {1e6 / code:7.1f} us")
    print(f"  verify_code / raw ECDSA verify  {code / raw:10.0%}   (goal: at least 70%)")
    for name in extra:
        rate = median_rate(n_codes, times[name])
        print(f"  {name:<31} {rate:10,.0f} /s  {1e6 / rate:7.1f} us  ({rate / raw:.0%} of raw)")
    if status_note:
        print(f"  {status_note}")
    print(f"  other processes used {busy_elsewhere:.2f} of {psutil.cpu_count()} cores meanwhile (this run: one core)")


class OtherLoad:
    """Cores used by every process but this one since construction: a busy machine skews the absolute rates
    (the ratio less so: its rounds are interleaved)."""

    def __init__(self) -> None:
        self._system = psutil.cpu_times()
        self._own = psutil.Process().cpu_times()
        self._started = time.perf_counter()

    def cores(self) -> float:
        system, own = psutil.cpu_times(), psutil.Process().cpu_times()
        busy = (sum(system) - system.idle - system.iowait) - (
            sum(self._system) - self._system.idle - self._system.iowait
        )
        mine = (own.user + own.system) - (self._own.user + self._own.system)
        return float(max(0.0, (busy - mine) / (time.perf_counter() - self._started)))


def _der(raw: bytes) -> bytes:
    """COSE's r||s signature as the DER SEQUENCE cryptography's verify takes."""
    half = len(raw) // 2
    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))


def _status_list_round(
    authority: Any,
    codes: list[str],
    claims: list[Any],
    trust: Any,
    signers: list[Any],
    at: datetime,
    entries: int,
    extra: dict[str, Callable[[], float]],
) -> str:
    """Add a `verify_offline` round with a signed status list of `entries` entries, when H2's list exists."""
    try:
        from edl.credentials.statuslist import build_status_list_token
        from edl.verification.offline import verify_offline
    except ImportError as exc:
        return f"status list round skipped ({exc})"
    service_signer = getattr(authority, "service_signer", None)
    if service_signer is None:
        return "status list round skipped (no Authority.service_signer)"
    try:
        list_signer = service_signer("status-list", at)
    except Exception as exc:  # the role's name is H2's; say what happened rather than guess on
        return f"status list round skipped (service_signer: {exc})"
    values = bytearray(max(entries, len(codes)))
    for i in range(0, len(values), 97):  # about 1% suspended or revoked, none of the bench codes' own indices
        if i >= len(codes):
            values[i] = 1 + i % 2
    token = build_status_list_token(
        bytes(values),
        bits=2,
        uri="https://edl.example/status-lists/1",
        signer=list_signer,
        iat=at - timedelta(minutes=1),
        exp=at + timedelta(hours=24),
        ttl=300,
    )
    first = verify_offline(codes[0], trust, signers, at=at, status_list=token)
    if not first.valid:
        return f"status list round skipped: verify_offline says not valid: {first.to_json_dict()}"

    def with_list() -> float:
        started = time.perf_counter()
        for c in codes:
            verify_offline(c, trust, signers, at=at, status_list=token)
        return time.perf_counter() - started

    extra[f"verify_offline + list ({len(values):,})"] = with_list
    return f"status list: {len(values):,} entries, token {len(token):,} bytes, passed with every call"


# --- online: the database -----------------------------------------------------------------------------------------


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def ensure_database(url: str, *, reload: bool) -> None:
    """Create the bench database when missing (drop it first with `reload`)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(libpq(url))
    name = str(params.get("dbname") or "")
    if not name or name == ADMIN_DB:
        sys.exit(f"refusing to load bench data into database {name!r}: give the bench its own database")
    admin = make_conninfo(libpq(url), dbname=ADMIN_DB)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and reload:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
            print(f"db: dropped database {name}")
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"db: created database {name}")


def load_only(args: argparse.Namespace) -> None:
    """`--load-only`: the bench database with `--licences` licences, and nothing else."""
    args.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_database(PG_URL, reload=args.reload)
    container = open_bench_container(args.data_dir, PG_URL, migrate=True)
    try:
        with tempfile.TemporaryDirectory(prefix="edl-bench-load-") as tmp:
            load_licences(container, args.licences, Path(tmp))
    finally:
        container.dispose()


def open_bench_container(data_dir: Path, url: str, *, migrate: bool = False) -> Any:
    from edl.bootstrap import bootstrap
    from edl.config import Settings

    return bootstrap(Settings(data_dir=data_dir, database_url=url), migrate=migrate)


def load_licences(container: Any, count: int, workdir: Path) -> None:
    """`count` synthetic licences, generated and imported with the registry importer; skipped when loaded.

    Prints the time of each step: generating the CSV (one process, numpy per 50,000 rows), importing it
    (`import_file`: columns checked by polars, COPY in batches of 10,000 rows, one transaction each) and ANALYZE,
    with the importer process's peak RSS. 10,000,000 licences need about 2.2 GB for the CSV (deleted after the
    import) and about 5 GB in PostgreSQL."""
    import sqlalchemy as sa

    from edl.registry.generator import generate
    from edl.registry.importer import ImportProgress, import_file

    with container.engine.connect() as conn:
        have = conn.execute(sa.text("SELECT count(*) FROM licences")).scalar_one()
    if have == count:
        print(f"db: {have:,} licences already loaded: skipped generate and import")
        return
    if have:
        sys.exit(f"db: holds {have:,} licences, not {count:,}: run again with --reload")
    free = shutil.disk_usage(workdir).free
    if free < count * 260:
        need = count * 230 / 2**30
        sys.exit(f"db: {workdir} has {free / 2**30:.1f} GiB free; a CSV of {count:,} licences needs ~{need:.1f} GiB")
    path = workdir / f"registry-{count}.csv"
    started = time.perf_counter()
    report = generate(path, count, seed=2026, progress=_every(count, "generated"))
    print(f"db: generated {count:,} records in {report.seconds:.1f} s ({path.stat().st_size / 2**20:,.0f} MiB CSV)")

    def imported_so_far(p: ImportProgress) -> None:
        step(p.rows)

    step = _every(count, "imported")
    _reset_peak_rss()  # from here on the peak is the import's, not the generator's
    imported = import_file(
        container.engine, path, workdir / "rejects.csv", BENCH_ACTOR, clock=container.clock, progress=imported_so_far
    )
    path.unlink()
    print(
        f"db: imported {imported.accepted:,} licences in {imported.seconds:.1f} s "
        f"({imported.rows_per_second:,.0f} rows/s, {imported.rejected} rejected); peak RSS {_peak_rss_mb():,.0f} MB"
    )
    analyse = time.perf_counter()
    with container.engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    print(
        f"db: ANALYZE {time.perf_counter() - analyse:.1f} s; generate + import + ANALYZE of {count:,} licences: "
        f"{time.perf_counter() - started:.1f} s"
    )


def _every(count: int, what: str, parts: int = 10) -> Callable[[int], None]:
    """A progress callback printing a line each tenth of `count` (a 10 M load takes minutes)."""
    started, shown = time.perf_counter(), [0]

    def progress(done: int) -> None:
        if done * parts // count > shown[0]:
            shown[0] = done * parts // count
            print(f"db:   {what} {done:,} of {count:,} ({time.perf_counter() - started:.0f} s)", flush=True)

    return progress


def _reset_peak_rss() -> None:
    """Start VmHWM afresh from the current RSS (Linux: `echo 5 > /proc/self/clear_refs`); harmless elsewhere."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1]) / 1024
    return 0.0


def issue_sample(container: Any, size: int) -> list[str]:
    """Licence numbers of `size` licences with an active e-licence issued by the bench (issued when missing)."""
    import sqlalchemy as sa

    from edl.db.session import transaction
    from edl.issuance.elicences import IssuanceRefused, issue_in_session
    from edl.registry.portraits import render_portrait

    at = now_utc()
    authority = container.authority
    if not authority.is_initialised():
        authority.init(at=at - timedelta(minutes=5))
        print(f"pki: created an issuing authority in {container.settings.data_dir}")
    active = sa.text(
        "SELECT licence_number FROM elicences WHERE issued_by = :actor AND voided_at IS NULL ORDER BY licence_number"
    )
    with container.engine.connect() as conn:
        numbers = list(conn.execute(active, {"actor": BENCH_ACTOR}).scalars())
    if len(numbers) >= size:
        print(f"db: {len(numbers):,} bench e-licences already issued: using {size:,}")
        return numbers[:size]
    started = time.perf_counter()
    # Portraits: a few real JPEGs in the photo store, shared by the sample (the registry file has none).
    refs = [container.photos.put(render_portrait(i, f"bench{i}")) for i in range(8)]
    candidates = sa.text(
        "SELECT number FROM licences WHERE number NOT IN (SELECT licence_number FROM elicences) "
        "ORDER BY md5(number) LIMIT :n"
    )
    with container.engine.connect() as conn:
        pool = list(conn.execute(candidates, {"n": (size - len(numbers)) * 2}).scalars())
    refused = 0
    for start in range(0, len(pool), 200):
        if len(numbers) >= size:
            break
        with transaction(container.sessions) as session:
            for i, number in enumerate(pool[start : start + 200]):
                if len(numbers) >= size:
                    break
                session.execute(
                    sa.text("UPDATE licences SET photo_ref = :ref, photo_compliant = true WHERE number = :n"),
                    {"ref": refs[i % len(refs)], "n": number},
                )
                try:
                    with session.begin_nested():
                        issue_in_session(session, container.issuer, number, actor=BENCH_ACTOR, at=at)
                except IssuanceRefused:
                    refused += 1
                    continue
                numbers.append(number)
    print(
        f"db: issued {len(numbers):,} e-licences (issue_in_session) in {time.perf_counter() - started:.1f} s; "
        f"{refused} ineligible licences skipped"
    )
    return numbers


def ensure_status_indices(container: Any) -> None:
    """Bench e-licences issued before issuance allocated status-list indices get one (`allocate_index`)."""
    import sqlalchemy as sa

    from edl.db.session import transaction
    from edl.issuance.status import allocate_index, mark_changed

    at = now_utc()
    query = sa.text("SELECT id FROM elicences WHERE issued_by = :a AND status_index IS NULL")
    with transaction(container.sessions) as session:
        ids = list(session.execute(query, {"a": BENCH_ACTOR}).scalars())
        for elicence_id in ids:
            index = allocate_index(session, elicence_id, at=at)
            session.execute(
                sa.text("UPDATE elicences SET status_index = :i WHERE id = :id"), {"i": index, "id": elicence_id}
            )
        if ids:
            mark_changed(session, at=at)
    if ids:
        print(f"db: gave {len(ids):,} bench e-licences a status-list index (issued before indices existed)")


def register_party(container: Any, purpose: str) -> tuple[str, str]:
    """A fresh relying party with a limit no bench reaches; returns (party id, key). The key is never printed."""
    from edl.db.session import transaction
    from edl.verification.parties import register_party as register
    from edl.verification.purposes import Purpose

    with transaction(container.sessions) as session:
        party, key = register(
            session,
            name=f"bench {purpose} {now_utc():%Y%m%d%H%M%S}",
            purpose=Purpose(purpose),
            rate_per_minute=10_000_000,
            actor=BENCH_ACTOR,
            at=now_utc(),
        )
    return party.id, key


def fresh_codes(container: Any, numbers: Sequence[str]) -> tuple[list[str], datetime]:
    """One new 亮码 per sampled licence, made now (they expire `code_lifetime_seconds` later)."""
    from edl.db.session import transaction
    from edl.issuance.livecodes import make_live_code

    at = now_utc()
    with transaction(container.sessions) as session:
        codes = [make_live_code(session, container.code_maker, n, at=at).text for n in numbers]
    return codes, at + timedelta(seconds=container.settings.code_lifetime_seconds)


# --- online: server, load, CPU --------------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def workers(self) -> list[psutil.Process]:
        """The worker processes (with --workers 1 none: uvicorn serves in its own process)."""
        found = []
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with suppress(psutil.Error):
                    if "spawn_main" in " ".join(child.cmdline()):  # not multiprocessing's resource tracker
                        found.append(child)
        except psutil.NoSuchProcess:
            pass
        return found

    def processes(self) -> list[psutil.Process]:
        """Every process of the server: the supervisor and all its descendants."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []


@contextmanager
def serve(
    data_dir: Path,
    url: str,
    port: int,
    workers: int,
    redis_url: str | None,
    logs: Path,
    factory: str = "edl.asgi:create",
    extra_env: Sequence[str] = (),
    server: str = "uvicorn",
) -> Iterator[Server]:
    """`uvicorn --factory edl.asgi:create` (the real app and container, settings from EDL_* variables)."""
    import httpx

    env = {
        **os.environ,
        "EDL_DATA_DIR": str(data_dir),
        "EDL_DATABASE_URL": url,
        "EDL_HOST": "127.0.0.1",
        "EDL_PORT": str(port),
        "EDL_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("EDL_REDIS_URL", None)
    if redis_url:
        env["EDL_REDIS_URL"] = redis_url
    for item in extra_env:
        name, _, value = item.partition("=")
        env[name] = value
    log = logs / f"{server}-{workers}w.log"
    command = [
        str(Path(sys.executable).with_name("granian")),
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        factory,
    ]
    if server == "uvicorn":
        command = [
            str(Path(sys.executable).with_name("uvicorn")),
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",  # as `edl serve`: the app writes its own masked access log
            "--log-level",
            "warning",
        ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    running = Server(process, base, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                sys.exit(f"uvicorn exited with {process.returncode}; see {log}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"uvicorn did not answer /healthz within 60 s; see {log}")
            time.sleep(0.2)
        while server == "uvicorn" and len(running.workers()) < workers > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0 if server == "uvicorn" else 3.0)  # every worker imported and listening
        yield running
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class CpuSampler:
    """CPU seconds per process group while a load runs: the uvicorn workers, wrk, PostgreSQL, everything else."""

    server: Server
    wrk_pid: int = 0
    interval: float = 0.5
    _seen: dict[tuple[int, float], tuple[str, float, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0
    _elapsed: float = 0.0
    _cpu_before: Any = None
    _cpu_after: Any = None

    def _group(self, proc: psutil.Process, server_pids: set[int]) -> str:
        if proc.pid in server_pids:
            return "uvicorn workers"
        if proc.pid == self.wrk_pid:
            return "wrk"
        if proc.pid == os.getpid():
            return "bench script"
        try:
            name = proc.name()
        except psutil.Error:
            return "other"
        return "postgresql" if name.startswith("postgres") else "other"

    def _sample(self, first: bool) -> None:
        server_pids = {p.pid for p in self.server.processes()}
        for proc in psutil.process_iter(["pid", "create_time"]):
            try:
                times = proc.cpu_times()
                key = (proc.pid, proc.info["create_time"])
            except psutil.Error:
                continue
            total = times.user + times.system
            if key in self._seen:
                group, base, _ = self._seen[key]
                self._seen[key] = (group, base, total)
            else:  # a process that started during the load counts from zero
                self._seen[key] = (self._group(proc, server_pids), total if first else 0.0, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample(first=False)

    def start(self) -> None:
        self._cpu_before = psutil.cpu_times()
        self._started = time.perf_counter()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Cores used by each group (CPU seconds / wall seconds), plus 'idle' for what was left of the machine."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample(first=False)
        self._elapsed = time.perf_counter() - self._started
        self._cpu_after = psutil.cpu_times()
        cores: dict[str, float] = {}
        for group, base, last in self._seen.values():
            cores[group] = cores.get(group, 0.0) + (last - base) / self._elapsed
        idle = (self._cpu_after.idle - self._cpu_before.idle) / self._elapsed
        seen = sum(cores.values())
        cores["idle"] = idle
        # What no sampled process accounts for: processes that lived between two samples (PostgreSQL backends of
        # short-lived connections) and kernel time outside any process.
        cores["unaccounted"] = max(0.0, (psutil.cpu_count() or 1) - idle - seen)
        return cores


def pg_counters() -> dict[str, int]:
    """The bench database's cumulative counters: sessions opened, commits, rollbacks, rows inserted."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = conninfo_to_dict(libpq(PG_URL)).get("dbname")
    query = "SELECT sessions, xact_commit, xact_rollback, tup_inserted FROM pg_stat_database WHERE datname = %s"
    with psycopg.connect(libpq(PG_URL), autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(query, (name,)).fetchone()
    keys = ("sessions", "commits", "rollbacks", "inserted")
    return dict(zip(keys, (int(v) for v in row), strict=True)) if row else {}


def settled_counters(max_seconds: float = 12.0) -> dict[str, int]:
    """`pg_counters` once two reads a second apart agree: a busy backend reports its statistics about once a second,
    an idle one only after 10 s (PostgreSQL 15+), so a read right after the load misses the last commits."""
    deadline = time.monotonic() + max_seconds
    last = pg_counters()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = pg_counters()
        if {k: v for k, v in now.items() if k != "sessions"} == {k: v for k, v in last.items() if k != "sessions"}:
            return now
        last = now
    return last


@dataclass(frozen=True)
class LoadResult:
    label: str
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    statuses: dict[str, int]
    valid: int
    socket_errors: dict[str, int]
    cores: dict[str, float]
    db: dict[str, int]


def run_wrk(
    server: Server,
    path: str,
    label: str,
    *,
    threads: int,
    connections: int,
    duration: int,
    bodies: Path | None,
    key_file: Path | None,
) -> LoadResult:
    args = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        server.url + path,
        "--",
        str(bodies) if bodies else "-",
    ]
    if key_file:
        args.append(str(key_file))
    before = pg_counters()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = CpuSampler(server, wrk_pid=process.pid)
    sampler.start()
    out, err = process.communicate()
    cores = sampler.stop()
    after = settled_counters()
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if process.returncode != 0 or line is None:
        sys.exit(f"wrk failed ({process.returncode}): {err.strip() or out.strip()}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    lat = data["latency_us"]
    return LoadResult(
        label=label,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
        requests=data["requests"],
        statuses={str(k): v for k, v in data["statuses"].items()},
        valid=data["valid"],
        socket_errors={k: v for k, v in data["errors"].items() if k != "status" and v},
        cores=cores,
        db={k: after[k] - before.get(k, 0) for k in after},
    )


def report(result: LoadResult, *, expect_valid: bool) -> None:
    """One run's figures, the CPU split, and a loud line for anything that is not a valid 200 answer."""
    print(
        f"  {result.label:<34} {result.rps:9,.0f} req/s  p50 {result.p50_ms:6.2f} ms  p90 {result.p90_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  ({result.requests:,} requests)"
    )
    cores = result.cores
    order = ["uvicorn workers", "postgresql", "wrk", "bench script", "other", "unaccounted", "idle"]
    split = "  ".join(f"{g} {cores.get(g, 0.0):.2f}" for g in order)
    print(f"  {'':<34} cores used: {split}  (of {psutil.cpu_count()})")
    if result.rps:
        print(
            f"  {'':<34} server CPU per request: {cores.get('uvicorn workers', 0.0) / result.rps * 1000:.3f} ms "
            f"(server process cores / requests per second)"
        )
    if result.db and result.requests:
        per = {k: v / result.requests for k, v in result.db.items()}
        print(
            f"  {'':<34} PostgreSQL: {result.db['sessions']:,} new sessions ({per['sessions']:.2f}/request), "
            f"{per['commits']:.2f} commits, {per['rollbacks']:.2f} rollbacks, {per['inserted']:.2f} rows "
            "inserted per request"
        )
    non_200 = {k: v for k, v in result.statuses.items() if k != "200"}
    answered = sum(result.statuses.values())
    if non_200 or result.socket_errors:
        share = sum(non_200.values()) / answered if answered else 1.0
        print(
            f"  !!! BENCH IS WRONG: {share:.2%} of answers were not 200: statuses {non_200}, "
            f"socket errors {result.socket_errors} !!!"
        )
    elif expect_valid and result.valid != answered:
        print(f"  !!! BENCH IS WRONG: {answered - result.valid:,} of {answered:,} 200 answers were not valid !!!")
    else:
        print(f"  {'':<34} non-2xx: 0 of {answered:,}" + ("; every answer valid" if expect_valid else ""))


def limits(result: LoadResult) -> str:
    """What limits the figure, from where the CPU went."""
    cores = result.cores
    total = psutil.cpu_count() or 1
    busy = total - cores.get("idle", 0.0)
    top = max((g for g in cores if g not in ("idle", "unaccounted")), key=lambda g: cores[g])
    if busy >= 0.9 * total:
        return (
            f"CPU-bound: the {total} cores are {busy / total:.0%} busy; {top} take the most "
            f"({cores[top]:.2f} cores); wrk itself takes {cores.get('wrk', 0.0):.2f}, PostgreSQL "
            f"{cores.get('postgresql', 0.0):.2f}, other processes {cores.get('other', 0.0):.2f}"
        )
    return (
        f"not CPU-bound ({busy:.2f} of {total} cores busy): waiting (database round trips, locks, or too few "
        "connections) limits it"
    )


def online(args: argparse.Namespace) -> None:
    import httpx

    data_dir: Path = args.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_database(PG_URL, reload=args.reload)
    container = open_bench_container(data_dir, PG_URL, migrate=True)
    print(f"db: {PG_URL.split('@')[-1]} migrated to head")
    try:
        with tempfile.TemporaryDirectory(prefix="edl-bench-online-") as tmp:
            work = Path(tmp)
            load_licences(container, args.licences, work)
            numbers = issue_sample(container, args.sample)
            ensure_status_indices(container)
            if args.harness_only:
                party_key = None
            else:
                party_id, key = register_party(container, args.purpose)
                party_key = work / "key"
                party_key.touch(0o600)
                party_key.write_text(key + "\n")
                print(f"api: registered relying party {party_id} ({args.purpose}, 10,000,000/min); key not shown")
            redis_url = "redis://127.0.0.1:6379/0" if args.redis else None
            for workers in args.workers:
                print(
                    f"\nonline: {args.server} --factory {args.factory} --workers {workers} "
                    f"{' '.join(args.server_env)}; "
                    f"wrk -t{args.threads} "
                    f"-d{args.duration}s (verification runs after {args.warmup} s of unreported warm-up); "
                    f"PostgreSQL with {args.licences:,} licences; "
                    f"rate limiter {'Redis' if redis_url else 'in memory'}; {machine_load()}"
                )
                with serve(
                    data_dir, PG_URL, args.port, workers, redis_url, work, args.factory, args.server_env, args.server
                ) as server:
                    health = run_wrk(
                        server,
                        "/healthz",
                        f"GET /healthz -c{args.connections[0]}",
                        threads=args.threads,
                        connections=args.connections[0],
                        duration=min(10, args.duration),
                        bodies=None,
                        key_file=None,
                    )
                    report(health, expect_valid=False)
                    if party_key is None:
                        continue
                    results = []
                    for connections in args.connections:
                        codes, expires = fresh_codes(container, numbers)
                        bodies = work / "bodies.txt"
                        bodies.write_text("".join(json.dumps({"code": c}) + "\n" for c in codes))
                        if not preflight(server, party_key.read_text().strip(), codes[0], httpx):
                            return
                        left = (expires - now_utc()).total_seconds()
                        if left < args.warmup + args.duration + 5:
                            sys.exit(f"codes would expire during the run ({left:.0f} s left): shorten --duration")
                        if args.warmup > 0:  # not reported: opens the pools, fills the caches, steadies the loop
                            run_wrk(
                                server,
                                "/api/v1/verifications",
                                "warm-up",
                                threads=args.threads,
                                connections=connections,
                                duration=args.warmup,
                                bodies=bodies,
                                key_file=party_key,
                            )
                        result = run_wrk(
                            server,
                            "/api/v1/verifications",
                            f"POST /api/v1/verifications -c{connections}",
                            threads=args.threads,
                            connections=connections,
                            duration=args.duration,
                            bodies=bodies,
                            key_file=party_key,
                        )
                        report(result, expect_valid=True)
                        results.append(result)
                    if args.profile and results:
                        profile(server, args, work, container, numbers, party_key)
                    for result in results:
                        print(f"  limit at {result.label.split()[-1]}: {limits(result)}")
                    best = max(results, key=lambda r: r.rps)
                    print(
                        f"  goal (>= 1,000 req/s, p99 <= 50 ms): best {best.rps:,.0f} req/s at "
                        f"{best.label.split()[-1]}, p99 {best.p99_ms:.1f} ms: "
                        + ("met" if best.rps >= 1000 and best.p99_ms <= 50 else "NOT met")
                    )
    finally:
        container.dispose()


def preflight(server: Server, key: str, code: str, httpx: Any) -> bool:
    """One request before the load: a 200 with valid true, or the bench stops and says what came back."""
    answer = httpx.post(
        f"{server.url}/api/v1/verifications", json={"code": code}, headers={"Authorization": f"Bearer {key}"}
    )
    body: Any = answer.text
    with suppress(ValueError):
        body = answer.json()
    if answer.status_code != 200 or not isinstance(body, dict) or body.get("valid") is not True:
        print(f"!!! BENCH IS WRONG: preflight answered {answer.status_code}: {str(body)[:600]} !!!")
        return False
    return True


def profile(
    server: Server, args: argparse.Namespace, work: Path, container: Any, numbers: Sequence[str], key_file: Path
) -> None:
    """py-spy on every worker during one more load (py-spy is a measuring tool: pip install py-spy, not a
    dependency of the project); prints the share of samples in each part of the request path."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  profile skipped: py-spy is not installed (.venv/bin/pip install py-spy)")
        return
    codes, _ = fresh_codes(container, numbers)
    bodies = work / "bodies.txt"
    bodies.write_text("".join(json.dumps({"code": c}) + "\n" for c in codes))
    seconds = min(args.duration, 20)
    spies = []
    for i, worker in enumerate(server.workers() or [psutil.Process(server.process.pid)]):
        out = work / f"profile-{i}.txt"
        spies.append(
            (
                out,
                subprocess.Popen(
                    [
                        spy,
                        "record",
                        "-p",
                        str(worker.pid),
                        "-d",
                        str(seconds),
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "-o",
                        str(out),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        )
    run_wrk(
        server,
        "/api/v1/verifications",
        "profiled",
        threads=args.threads,
        connections=args.connections[-1],
        duration=seconds,
        bodies=bodies,
        key_file=key_file,
    )
    stacks: dict[str, int] = {}
    for out, proc in spies:
        proc.wait()
        if out.exists():
            for text in out.read_text().splitlines():
                stack, _, n = text.rpartition(" ")
                if n.isdigit():
                    stacks[stack] = stacks.get(stack, 0) + int(n)
    keep = Path(args.profile)
    keep.write_text("".join(f"{s} {n}\n" for s, n in stacks.items()))
    print(f"  profile: {sum(stacks.values()):,} samples of {len(spies)} workers (collapsed stacks in {keep})")
    for part, share in profile_parts(stacks):
        print(f"    {part:<46} {share:6.1%}")


STEPS: list[tuple[str, tuple[str, ...]]] = [
    # Steps of the request path in our code, (label, frame marks); py-spy frames read "function (path/file.py:line)".
    # A sample belongs to the innermost step one of whose marks is in a frame of its stack (_fields runs in _judge).
    ("authenticate (key hash, party cache)", ("authenticate (edl/",)),
    ("rate limit", ("edl/verification/ratelimit.py",)),
    ("verify_code (亮码: base45, zlib, COSE, ECDSA)", ("verify_code (edl/",)),
    (
        "transaction start (pool checkout, ping, BEGIN, SET)",
        (
            "_begin (edl/",
            "_async_commit (edl/",
            "begin (sqlalchemy/engine/base.py",
            "start (sqlalchemy/ext/asyncio/engine.py",
            "connect (sqlalchemy/engine/base.py",
        ),
    ),
    # The async verification engine runs select and insert inside a greenlet py-spy does not follow: the main stack
    # shows only `run_sync`, its psycopg waits and the event loop.
    ("select + log insert on the async engine (greenlet)", ("run_sync (sqlalchemy/ext/asyncio/engine.py",)),
    ("registry select on asyncpg (prepared, in the loop)", ("lookup (edl/verification/online_pg.py",)),
    ("log rows: group commit batch insert (asyncpg)", ("edl/verification/groupcommit.py",)),
    ("fields for the purpose (driving record, photo)", ("_fields (edl/verification/lookup.py",)),
    ("registry select + status (e-licence and licence)", ("judge (edl/verification/lookup.py",)),
    ("status judgement (judge_row)", ("judge_row (edl/verification/lookup.py",)),
    ("verification log insert", ("record_verification (edl/",)),
    ("commit (end of the transaction)", ("commit (sqlalchemy/",)),
    ("JSON answer (to_json_dict, render)", ("to_json_dict (edl/", "render (starlette/responses.py")),
    ("request body and JSON parse", ("parse_body (edl/", "stream (starlette/requests.py")),
]
STACK: list[tuple[str, tuple[str, ...]]] = [
    # Outside our steps: the innermost frame that matches names the layer.
    ("access log and metrics (structlog, prometheus)", ("structlog/", "prometheus_client/", "observability.py")),
    ("thread pool hand-off (anyio, threading)", ("anyio/", "threading.py", "queue.py")),
    ("HTTP and ASGI (uvicorn, starlette, fastapi)", ("uvicorn/", "starlette/", "fastapi/", "edl/web/")),
    ("event loop (asyncio, selectors)", ("asyncio/", "selectors.py")),
]
DB_MARKS = ("psycopg/", "sqlalchemy/", "asyncpg/")
IDLE_MARKS = ("Condition.wait (", "always_pong (", "Queue.get (")
"""Samples of threads that only wait (idle pool threads, uvicorn's supervisor ping): left out of the shares."""


def profile_parts(stacks: dict[str, int]) -> list[tuple[str, float]]:
    """Share of samples per step of the request path; '[database layers]' marks the samples of a step that were in
    SQLAlchemy or psycopg (building statements, sending them, waiting for PostgreSQL's answer)."""
    stacks = {s: n for s, n in stacks.items() if not any(m in s for m in IDLE_MARKS)}
    total = sum(stacks.values()) or 1
    counts: dict[str, int] = {}
    for stack, n in stacks.items():
        frames = stack.split(";")
        part = next(
            (name for frame in reversed(frames) for name, marks in STEPS if any(m in frame for m in marks)),
            None,
        )
        if part is None:
            part = next(
                (name for frame in reversed(frames) for name, marks in STACK if any(m in frame for m in marks)),
                "other",
            )
        if any(m in frame for frame in frames for m in DB_MARKS):
            part += " [database layers]"
        counts[part] = counts.get(part, 0) + n
    return sorted(((p, c / total) for p, c in counts.items()), key=lambda x: -x[1])


def machine_load() -> str:
    """The load average and Linux's CPU pressure (share of time some task waited for a CPU, last 10 s)."""
    text = f"load average {os.getloadavg()[0]:.2f}"
    try:
        first = Path("/proc/pressure/cpu").read_text().split()[1]
        text += f", CPU pressure {first.split('=')[1]}%"
    except (OSError, IndexError):
        pass
    return text


def wait_quiet(max_seconds: float, threshold: float = 0.25) -> None:
    """Wait (up to `max_seconds`) until other processes use less than `threshold` cores over 5 s: the machine is
    shared, and a test suite running beside the bench halves its figures."""
    deadline = time.monotonic() + max_seconds
    while True:
        probe = OtherLoad()
        time.sleep(5)
        busy = probe.cores()
        if busy < threshold:
            print(f"machine quiet: other processes use {busy:.2f} cores")
            return
        if time.monotonic() > deadline:
            print(f"!!! machine still busy after {max_seconds:.0f} s: other processes use {busy:.2f} cores !!!")
            return
        print(f"waiting for a quiet machine: other processes use {busy:.2f} cores ({machine_load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--codes", type=int, default=2000, help="distinct codes (offline and online)")
    parser.add_argument("--rounds", type=int, default=7, help="offline rounds (the median is printed)")
    parser.add_argument("--status-entries", type=int, default=1_000_000, help="entries in the offline status list")
    parser.add_argument("--online", action="store_true", help="also bench POST /api/v1/verifications")
    parser.add_argument("--online-only", action="store_true", help="skip the offline figures")
    parser.add_argument("--harness-only", action="store_true", help="online: only GET /healthz (no API yet)")
    parser.add_argument(
        "--licences", type=int, default=1_000_000, help="licences in the bench database (generated and imported)"
    )
    parser.add_argument(
        "--load-only", action="store_true", help="only generate and import --licences into the bench database"
    )
    parser.add_argument(
        "--workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[2],
        help="uvicorn worker counts to try, comma-separated",
    )
    parser.add_argument(
        "--connections",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[32, 64],
        help="wrk connection counts, comma-separated",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=30, help="seconds per wrk run (codes live 180 s)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of unreported load before each measured verification run (0: none; the figures then include "
        "the first connections and cache fills)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--purpose", default="police", help="relying party purpose (police sees every field)")
    parser.add_argument("--redis", action="store_true", help="rate limit in the local Redis (EDL_REDIS_URL)")
    parser.add_argument("--factory", default="edl.asgi:create", help="the ASGI app factory uvicorn serves")
    parser.add_argument(
        "--server", choices=("uvicorn", "granian"), default="uvicorn", help="the ASGI server (uvloop in both)"
    )
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the server"
    )
    parser.add_argument("--reload", action="store_true", help="drop the bench database and load it again")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="bench data dir (keys, photos)")
    parser.add_argument(
        "--wait-quiet", type=float, default=0, metavar="SECONDS", help="first wait up to this long for an idle machine"
    )
    parser.add_argument("--profile", metavar="FILE", help="py-spy the workers in one more run; stacks to FILE")
    args = parser.parse_args()
    if shutil.which("wrk") is None and (args.online or args.online_only):
        sys.exit("wrk is not installed (apt-get install wrk)")
    print(f"eDL verification benchmark: {psutil.cpu_count()} CPUs, Python {sys.version.split()[0]}, {machine_load()}")
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    if args.load_only:
        load_only(args)
        return
    if not args.online_only:
        offline(args.codes, args.rounds, args.status_entries)
    if args.online or args.online_only:
        args.sample = args.codes
        online(args)


if __name__ == "__main__":
    main()
