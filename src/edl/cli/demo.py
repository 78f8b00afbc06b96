"""`edl demo`: the main job. Prepares the demo (keys, synthetic drivers with portraits imported into the registry,
demo staff and relying parties, sample drivers for the landing page, applications waiting for review; idempotent),
then serves it on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edl.accounts.staff import Role, add_staff_user, list_staff_users
from edl.applications.errors import ApplicationRefused
from edl.applications.realperson import FacePurpose
from edl.audit import ActorKind
from edl.bootstrap import Container
from edl.cli.common import open_container, run_server
from edl.db.models import AccountRow, ApplicationRow, ElicenceRow, LicenceRow
from edl.db.session import transaction
from edl.domain import DomainError
from edl.domain.application import ApplicationState, PhotoSource
from edl.domain.liveness import LiveCapture, TimedFrame
from edl.pki import Authority
from edl.pki.files import PRIVATE_FILE_MODE, write_atomic
from edl.worker_pool import PoolBusy


def demo(
    count: Annotated[int, typer.Option(min=1, max=100_000, help="synthetic drivers to load on first start")] = 1000,
    port: Annotated[int | None, typer.Option(help="port (default EDL_PORT, 8000)")] = None,
    seed: Annotated[int, typer.Option(help="seed for the synthetic data")] = 2021,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="prepare everything, then exit")] = False,
) -> None:
    """The main job: data directory, migrations, keys, synthetic drivers, then the web server on 127.0.0.1."""

    container = open_container(migrate=True)
    container.settings.demo = True
    container.settings.host = "127.0.0.1"
    if "EDL_FACE_PROVIDER" not in os.environ:
        # The demo's drivers have drawn portraits that no face model recognises: a named lenient provider.
        container.settings.face_provider = "lenient-demo"
    if port:
        container.settings.port = port
    summary = prepare_demo(container, count=count, seed=seed, echo=typer.echo)
    for line in summary:
        typer.echo(line)
    for line in demo_credentials(container.settings.data_dir):
        typer.echo(line)  # to this terminal only (stdout), never to the log: the visitor needs them to sign in
    if no_serve:
        container.dispose()
        return
    typer.echo(f"eDL demo: open http://127.0.0.1:{container.settings.port}/  (Ctrl+C stops)")
    run_server(container)


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
        report = import_file(container.engine, out, actor="demo", clock=container.clock)
        echo(report.summary())
        existing = report.accepted
    staff_file = _demo_staff(container, echo=echo)
    parties_file = _demo_parties(container, echo=echo)
    root = authority.root_certificate()
    samples = _pick_samples(container)
    queue = _seed_reviews(container, wanted=DEMO_REVIEWS, exclude={d["number"] for d in samples}, echo=echo)
    _write_samples(container, samples, queue.document())
    return [
        f"data directory: {data_dir.resolve()}",
        f"database: {container.engine.url.render_as_string(hide_password=True)}",
        f"registry: {existing:,} licences",
        f"trust anchor: {root.subject.rfc4514_string()} (export with `edl trust export --out DIR`)",
        f"review console: /review (demo staff accounts and passwords in {staff_file}, owner-only)",
        queue.summary(),
        "driver app: /app (sign-in codes appear on /dev/sms in the demo)",
        f"verifier page: /verify (demo relying-party API keys in {parties_file}, owner-only)",
        "trust bundle: /.well-known/edl/trust · status list: /status-lists/1",
        *(
            f"try the driver app ({d['case']} photo) as {d['name']}: sign in with {d['mobile']}, bind {d['number']}"
            for d in samples
        ),
        f"landing page: / (lists the entry points and these drivers; samples in {data_dir / SAMPLES_FILE})",
    ]


def demo_credentials(data_dir: Path) -> list[str]:
    """The demo's sign-in secrets, for the terminal that started it: a first-time visitor can sign in to the console
    and the verifier page without opening a file. Read back from the owner-only files the demo wrote."""
    lines = ["demo sign-in (shown in this terminal only):"]
    try:
        staff = (data_dir / "demo-staff.txt").read_text(encoding="utf-8").splitlines()
        parties = (data_dir / "demo-parties.txt").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for row in staff:
        parts = row.split("\t")
        if len(parts) == 3:
            lines.append(f"  review console /review/sign-in  {parts[1]:<10} user {parts[0]}  password {parts[2]}")
    for row in parties:
        parts = row.split("\t")
        if len(parts) >= 2:
            lines.append(f"  verifier page /verify            {parts[0]:<10} API key {parts[1]}")
    return lines if len(lines) > 1 else []


SAMPLES_FILE = "demo-samples.json"
"""The three sample drivers the landing page (/) lists in demo mode; written by the demo, owner-only."""
SAMPLE_CASES = ("stored", "camera", "album")
"""One sample per photo case: the compliant stored photo reused (case a), a new photo taken with the camera or
chosen from the album as an ID photo (case b: the stored photo is the old blue-background one)."""
SAMPLE_MIN_VALIDITY_DAYS = 180
"""A sample's licence stays valid at least this long, so it is still eligible while someone tries the demo."""


def _pick_samples(container: Container) -> list[dict[str, str]]:
    """Three eligible drivers, one per photo case, for the landing page; chosen again on each start, so a sample
    who has since applied or been suspended is replaced. Synthetic people only."""
    from edl.registry.mapping import licence_from_row

    today = container.clock().date()
    rollout = container.rollout
    wanted = {"stored": True, "camera": False, "album": False}
    picked: dict[str, dict[str, str]] = {}
    taken: set[str] = set()
    with container.sessions() as s:
        busy = set(s.scalars(select(ApplicationRow.licence_number)))
        for case in SAMPLE_CASES:
            rows = s.scalars(
                select(LicenceRow)
                .where(
                    LicenceRow.statuses == "A",
                    LicenceRow.photo_compliant.is_(wanted[case]),
                    LicenceRow.photo_ref.is_not(None),
                    LicenceRow.mobile.is_not(None),
                )
                .order_by(LicenceRow.number)
                .limit(50)
            )
            for row in rows:
                lic = licence_from_row(row)
                if row.number in taken or row.number in busy or not lic.eligibility(today, rollout).eligible:
                    continue
                if lic.validity.end is not None and (lic.validity.end - today).days < SAMPLE_MIN_VALIDITY_DAYS:
                    continue
                picked[case] = {"case": case, "name": row.name, "mobile": row.mobile or "", "number": row.number}
                taken.add(row.number)
                break
    return [picked[c] for c in SAMPLE_CASES if c in picked]


def _write_samples(container: Container, samples: list[dict[str, str]], review_queue: dict[str, object]) -> None:
    """SAMPLES_FILE for the landing page: the samples, the credential files' names, and the review queue the demo
    seeded (`review_queue`: how many applications wait, and whose the seeded ones are)."""
    path = container.settings.data_dir / SAMPLES_FILE
    document = {
        "samples": samples,
        "staff_file": "demo-staff.txt",
        "parties_file": "demo-parties.txt",
        "review_queue": review_queue,
    }
    write_atomic(path, json.dumps(document, ensure_ascii=False, indent=1).encode(), mode=PRIVATE_FILE_MODE)


DEMO_STAFF = (
    ("reviewer", Role.REVIEWER, "审核员（演示）"),
    ("supervisor", Role.SUPERVISOR, "主管（演示）"),
    ("admin", Role.ADMIN, "管理员（演示）"),
)


def _demo_staff(container: Container, *, echo: Callable[[str], None]) -> Path:
    """Staff accounts for the review console, once: generated passwords go to an owner-only file (never the log)."""
    path = container.settings.data_dir / "demo-staff.txt"
    if path.exists():
        return path
    lines = []
    with transaction(container.sessions) as session:
        if list_staff_users(session):
            return path
        for username, role, name in DEMO_STAFF:
            made = add_staff_user(
                session,
                username,
                role=role,
                authorities=None,
                display_name=name,
                actor_kind=ActorKind.CLI,
                actor="demo",
                at=container.clock(),
            )
            lines.append(f"{username}\t{role.value}\t{made.password}")
    write_atomic(path, ("\n".join(lines) + "\n").encode(), mode=PRIVATE_FILE_MODE)
    echo(f"created demo staff accounts {', '.join(u for u, _r, _n in DEMO_STAFF)} (passwords in {path})")
    return path


DEMO_PARTIES = (
    ("交警执法终端（演示）", "police"),
    ("汽车租赁门店（演示）", "rental"),
    ("用人单位（演示）", "employer"),
    ("保险公司（演示）", "insurer"),
)


def _demo_parties(container: Container, *, echo: Callable[[str], None]) -> Path:
    """One relying party per purpose, once: their API keys go to an owner-only file (never the log)."""
    from edl.verification.parties import list_parties, register_party
    from edl.verification.purposes import Purpose

    path = container.settings.data_dir / "demo-parties.txt"
    if path.exists():
        return path
    lines = []
    with transaction(container.sessions) as session:
        if list_parties(session):
            return path
        for name, purpose in DEMO_PARTIES:
            _party, key = register_party(
                session, name=name, purpose=Purpose(purpose), actor="demo", at=container.clock()
            )
            lines.append(f"{purpose}\t{key}\t{name}")
    write_atomic(path, ("\n".join(lines) + "\n").encode(), mode=PRIVATE_FILE_MODE)
    echo(f"created demo relying parties ({', '.join(p for _n, p in DEMO_PARTIES)}; API keys in {path})")
    return path


# --- applications waiting for review ------------------------------------------------------------------------------

DEMO_REVIEWS = 3
"""Applications the review queue holds when the demo starts: topped up to this on each start, so a reviewer who
decided them all finds new ones after a restart."""
DEMO_PORTRAITS = (
    ("portrait-collins.jpg", PhotoSource.CAMERA),
    ("portrait-hopper.jpg", PhotoSource.ALBUM),
    ("portrait-collins.jpg", PhotoSource.ALBUM),
)
"""The new photo each seeded driver submits, and where the app says it came from. The portraits are public-domain
photos of real people made into white-wall ID photos (src/edl/demo_data/README.txt, scripts/build_demo_portraits.py):
the drivers' drawn portraits cannot pass the photo checks, real faces do."""
SEED_CLIENT = "edl-demo-seed"
"""The client address the seeded drivers' steps are audited and rate-limited under."""


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    waiting: int
    """Applications waiting for review after seeding (the seeded ones and any a visitor submitted)."""
    seeded: tuple[dict[str, str], ...]
    """The drivers whose applications this start added: name, number, photo source."""
    skipped: str | None = None
    """Why nothing was seeded although the queue was short (None: nothing was missing, or all went through)."""

    def document(self) -> dict[str, object]:
        return {"waiting": self.waiting, "seeded": list(self.seeded)}

    def summary(self) -> str:
        line = f"review queue: {self.waiting} application(s) waiting for review"
        if self.seeded:
            line += " (just added: " + ", ".join(f"{d['name']} {d['number']}" for d in self.seeded) + ")"
        return line + (f"; not seeded: {self.skipped}" if self.skipped else "")


class _Handset:
    """Where the seeded drivers' sign-in codes arrive: kept in memory, never sent anywhere (an `SmsSender`)."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def send(self, mobile: str, text: str) -> None:
        self.texts[mobile] = text

    def code(self, mobile: str) -> str:
        found = re.search(r"\b(\d{6})\b", self.texts.get(mobile, ""))
        if found is None:
            raise RuntimeError("no sign-in code arrived")
        return found.group(1)


def _seed_reviews(container: Container, *, wanted: int, exclude: set[str], echo: Callable[[str], None]) -> ReviewQueue:
    """Top the review queue up to `wanted` applications: each missing one is a driver who signs in (consenting to
    the privacy notice), binds their licence, passes real-person authentication and submits a new ID photo, through
    the same services as the driver's app; the photo passes the automatic checks and waits for review.

    Needs the demo's lenient real-person provider: the registry's photos are drawn portraits that a real face
    comparison rejects. A driver whose step is refused is reported and the next one tried."""
    from edl.applications.face import FaceVerifierUnavailable

    with container.sessions() as s:
        waiting = _pending_count(s)
    if waiting >= wanted:
        return ReviewQueue(waiting, ())
    try:
        lenient = container.face_verifier.lenient
    except FaceVerifierUnavailable as exc:
        return ReviewQueue(waiting, (), str(exc))
    if not lenient:
        why = f"the drivers' drawn portraits need the lenient-demo provider, not {container.face_verifier.name}"
        return ReviewQueue(waiting, (), why)
    seeded: list[dict[str, str]] = []
    for row in _review_candidates(container, exclude=exclude, limit=3 * (wanted - waiting)):
        if waiting + len(seeded) >= wanted:
            break
        file_name, source = DEMO_PORTRAITS[(waiting + len(seeded)) % len(DEMO_PORTRAITS)]
        try:
            _apply_as_driver(container, row, portrait(file_name), source)
        except (DomainError, PoolBusy) as exc:
            echo(f"could not seed an application for demo driver {row.number}: {exc}")
            continue
        seeded.append({"name": row.name, "number": row.number, "source": source.value})
    if seeded:
        echo(f"seeded {len(seeded)} application(s) waiting for review (public-domain test portraits)")
    with container.sessions() as s:
        waiting = _pending_count(s)
    return ReviewQueue(waiting, tuple(seeded), None if waiting >= wanted else "not enough eligible drivers")


def portrait(file_name: str) -> bytes:
    """One of the demo's ID portraits, from the installed package (src/edl/demo_data)."""
    return (resources.files("edl") / "demo_data" / file_name).read_bytes()


def _pending_count(session: Session) -> int:
    query = select(func.count()).select_from(ApplicationRow)
    return int(session.scalar(query.where(ApplicationRow.state == ApplicationState.PENDING_REVIEW.value)) or 0)


def _review_candidates(container: Container, *, exclude: set[str], limit: int) -> list[LicenceRow]:
    """Eligible drivers who have no account, application or e-licence yet, with a registered mobile and a stored
    photo (real-person authentication compares with it): the old-photo (non-compliant) women first, since the
    portraits are of two women and these drivers have a reason to send a new photo; from the end of the registry,
    away from the landing page's samples."""
    from edl.registry.mapping import licence_from_row

    today = container.clock().date()
    with container.sessions() as s:
        busy = set(s.scalars(select(ApplicationRow.licence_number))) | set(exclude)
        busy |= {n for n in s.scalars(select(AccountRow.licence_number)) if n}
        busy |= set(s.scalars(select(ElicenceRow.licence_number)))
        accounts = set(s.scalars(select(AccountRow.mobile)))
        rows = s.scalars(
            select(LicenceRow)
            .where(LicenceRow.statuses == "A", LicenceRow.photo_ref.is_not(None), LicenceRow.mobile.is_not(None))
            .order_by(LicenceRow.number.desc())
            .limit(200)
        ).all()
        found = []
        for row in rows:
            lic = licence_from_row(row)
            if row.number in busy or row.mobile in accounts or not lic.eligibility(today, container.rollout).eligible:
                continue
            if lic.validity.end is not None and (lic.validity.end - today).days < SAMPLE_MIN_VALIDITY_DAYS:
                continue
            found.append(row)
    found.sort(key=lambda r: (bool(r.photo_compliant), r.sex != 2))  # stable: number order within each group
    return found[:limit]


def _apply_as_driver(container: Container, row: LicenceRow, photo: bytes, source: PhotoSource) -> None:
    """What a driver does in the app, step by step: sign in with the code texted to the registered mobile (first
    sign-in, privacy notice accepted), bind the licence (number, name, a live capture), authenticate again before
    applying, submit `photo`; then sign out. The live captures are the portrait itself, as the camera's frames."""
    from edl.accounts.holders import HolderSignIn, sign_out
    from edl.accounts.otp import OtpPolicy
    from edl.accounts.privacy import PRIVACY_NOTICE_VERSION

    mobile = row.mobile or ""
    handset = _Handset()
    sign_in = HolderSignIn(
        container.sessions,
        handset,
        otp_key=container.secret("otp"),
        policy=OtpPolicy.from_settings(container.settings),
        session_hours=container.settings.session_hours,
    )
    sign_in.request_code(mobile, client=SEED_CLIENT, at=container.clock())
    account, signed = sign_in.sign_in(
        mobile, handset.code(mobile), client=SEED_CLIENT, at=container.clock(), consent_version=PRIVACY_NOTICE_VERSION
    )
    try:
        checks = container.face_checks
        bind = _live_capture(container, account.id, FacePurpose.BIND, photo)
        checks.bind_licence(account.id, row.number, row.name, bind, at=container.clock(), client=SEED_CLIENT)
        apply = _live_capture(container, account.id, FacePurpose.APPLY, photo)
        result = checks.authenticate(account.id, apply, at=container.clock(), client=SEED_CLIENT)
        if not result.passed:
            raise ApplicationRefused(result.comparison.outcome.value, result.comparison.message_en)
        container.applications.submit_photo(
            account.id, photo, source=source, idempotency_key=uuid.uuid4().hex, at=container.clock(), client=SEED_CLIENT
        )
    finally:
        sign_out(container.sessions, signed.token, client=SEED_CLIENT, at=container.clock())


def _live_capture(container: Container, account_id: str, purpose: str, frame: bytes) -> LiveCapture:
    """A burst answering a fresh challenge: `frame` at each of the times the page takes its frames."""
    challenge = container.face_checks.issue_challenge(account_id, purpose, at=container.clock())
    return LiveCapture(challenge.nonce, tuple(TimedFrame(t, frame) for t in challenge.frame_times))
