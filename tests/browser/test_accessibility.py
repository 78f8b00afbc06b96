"""Accessibility and layout of every page, in real Chromium (issue 13, item 6).

axe-core (tests/browser/vendor/axe.min.js, copied from the npm package pinned in web-src/package-lock.json by
scripts/build-vendor, so no network is needed) is injected by Playwright into every page of every audience: the
public pages, the driver's app, the staff console and the verifier page, in Chinese and English, at 375 px and
1366 px. A page fails on any `serious` or `critical` violation; at 375 px no page may scroll sideways; on the
driver's pages every tap target (link, button, field, checkbox with its label) is at least 44 px in each dimension.

The pages' CSP (`script-src 'self'`) would block the injected script: the contexts here bypass CSP, for the axe run
only. One signed-in context per audience is made once for the module (the SMS throttle allows one sign-in a minute);
each case sets the viewport width and the language (`?lang=`, which also sets the cookie). Every violation found,
also the moderate and minor ones, is printed and written with a screenshot to
test-artifacts/browser/accessibility/ (results.json: per page, language and width, the violations by impact).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edl.accounts.staff import Role, add_staff_user
from edl.audit import ActorKind
from edl.db.session import transaction
from edl.domain.application import PhotoSource
from edl.verification.purposes import Purpose
from tests.browser.conftest import ARTIFACTS, LiveServer
from tests.faces import id_photo
from tests.workflow import ScriptedFaceVerifier, capture, seed_account, seed_licence

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
OUT = ARTIFACTS / "accessibility"
WIDTHS = (375, 1366)
LANGS = ("zh", "en")
MIN_TAP = 44
FAILING = ("serious", "critical")
IMPACTS = ("critical", "serious", "moderate", "minor")
STAFF_PASSWORD = "Access-check-2026!"
_seq = itertools.count(981, 2)  # sequences (and file numbers) no other browser test uses
AREA = "120103"
"""和平区 is 120101 elsewhere in the browser tests: another district keeps the licence numbers apart."""
_mobiles = itertools.count(13766600001)

PAGES: tuple[tuple[str, str], ...] = (
    ("public", "/"),
    ("public", "/privacy"),
    ("public", "/app/sign-in"),
    ("public", "/review/sign-in"),
    ("public", "/verify"),
    ("driver", "/app"),
    ("driver", "/app/me"),
    ("driver", "/app/inbox"),
    ("driver", "/app/applications"),
    ("driver", "/app/licence"),
    ("driver", "/app/checks"),
    ("staff", "/review"),
    ("staff", "/review/applications/{application}"),
    ("staff", "/registry"),
    ("staff", "/registry/{number}"),
    ("staff", "/review/staff"),
    ("staff", "/review/relying-parties"),
    ("staff", "/review/sanctions"),
    ("verifier", "/verify"),
    ("driver", "{present}"),
    ("verifier", "{request}"),
)
"""(audience, path) of every page checked; `{application}` and `{number}` are the seeded ones; `{present}` (the
app's consent page) and `{request}` (the verifier's request page) belong to a fresh OpenID4VP request of the
world's relying party."""

KNOWN: dict[tuple[str, str], str] = {}
"""(audience, path) → the violation still there on a page another engineer is editing: xfail(strict=True)."""


@dataclasses.dataclass
class World:
    number: str
    """The driver's licence (with an issued e-licence)."""
    mobile: str
    application: str
    """An application waiting for review (authority 120000)."""
    staff: str
    party_key: str


def _seed(server: LiveServer) -> World:
    from edl.issuance.elicences import issue_elicence
    from edl.verification.parties import register_party

    c = server.container
    now = datetime.now(UTC)
    number = seed_licence(c, now, sequence=next(_seq), area=AREA, name="无障碍")
    issue_elicence(c.sessions, c.issuer, number, actor="test", at=c.clock())
    mobile = str(next(_mobiles))
    seed_account(c, now, number=number, mobile=mobile)

    # an application waiting for review, through the real service (the face check by a scripted verifier)
    applicant = seed_licence(c, now, sequence=next(_seq), area=AREA, name="待审核")
    account = seed_account(c, now, number=applicant, mobile=str(next(_mobiles)))
    before = c.__dict__.get("face_verifier")
    c.face_verifier = ScriptedFaceVerifier()
    try:
        assert c.face_checks.authenticate(account, capture(c, account, at=now), at=now).passed
        application = c.applications.submit_photo(
            account, id_photo(), source=PhotoSource.CAMERA, idempotency_key=uuid.uuid4().hex, at=now
        )
    finally:
        if before is None:
            c.__dict__.pop("face_verifier", None)
        else:
            c.face_verifier = before

    staff = f"a11y{next(_seq)}"
    with transaction(c.sessions) as s:
        add_staff_user(
            s,
            staff,
            role=Role.ADMIN,
            authorities=frozenset({"120000"}),
            password=STAFF_PASSWORD,
            actor_kind=ActorKind.CLI,
            actor="test",
            at=now,
        )
        _party, key = register_party(s, name="无障碍检查租车", purpose=Purpose.RENTAL, actor="test", at=now)
    return World(number, mobile, str(application.id), staff, key)


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    return _seed(live_server)


@pytest.fixture(scope="module")
def pages(live_server: LiveServer, chromium: Any, world: World) -> Iterator[dict[str, Any]]:
    """One page per audience, signed in, in a context that bypasses CSP (for axe only)."""
    contexts: list[Any] = []

    def page_for(audience: str) -> Any:
        context = chromium.new_context(
            viewport={"width": WIDTHS[0], "height": 812}, locale="zh-CN", bypass_csp=True, device_scale_factor=1
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        url = live_server.url
        if audience == "driver":
            try:
                live_server.sign_in(page, world.mobile)
            except Exception:
                OUT.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(OUT / "driver-sign-in-failed.png"))
                print(page.url, page.inner_text("body")[:500])
                raise
        elif audience == "staff":
            page.goto(f"{url}/review/sign-in")
            page.fill("input[name=username]", world.staff)
            page.fill("input[name=password]", STAFF_PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url(re.compile(r".*/review/?(\?.*)?$"))
        elif audience == "verifier":
            page.goto(f"{url}/verify")
            page.fill("input[name=key]", world.party_key)
            page.click("form button[type=submit]")
            page.wait_for_selector("#upload-title")
        return page

    class Lazy(dict[str, Any]):
        def __missing__(self, audience: str) -> Any:
            self[audience] = page_for(audience)
            return self[audience]

    yield Lazy()
    for context in contexts:
        context.close()


def _presentation_request(server: LiveServer, world: World) -> dict[str, Any]:
    """A fresh OpenID4VP request of the world's relying party (its JSON, as the API answers it)."""
    c = server.container
    party = c.party_keys.authenticate(world.party_key, at=c.clock())
    assert party is not None
    made = c.presentations.create(party, at=c.clock())
    found: dict[str, Any] = made.to_json_dict(c.presentations.base_url)
    return found


RESULTS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """After the module: results.json and a table of the violations by impact (printed with -s)."""
    yield
    if not RESULTS:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(RESULTS, ensure_ascii=False, indent=1), encoding="utf-8")
    print("\n" + summary(RESULTS))


def summary(results: dict[str, dict[str, Any]]) -> str:
    """Per rule: impact, how many page cases it was found on, and how many nodes."""
    rules: dict[tuple[str, str], list[int]] = {}
    for case in results.values():
        for v in case["violations"]:
            counts = rules.setdefault((v["impact"] or "?", v["id"]), [0, 0])
            counts[0] += 1
            counts[1] += v["nodes"]
    lines = [f"{'impact':9} {'rule':32} {'cases':>5} {'nodes':>5}"]
    order = {k: i for i, k in enumerate(IMPACTS)}
    for (impact, rule), (cases, nodes) in sorted(rules.items(), key=lambda r: (order.get(r[0][0], 9), r[0][1])):
        lines.append(f"{impact:9} {rule:32} {cases:5d} {nodes:5d}")
    totals = {i: sum(1 for c in results.values() for v in c["violations"] if v["impact"] == i) for i in IMPACTS}
    lines.append(f"cases checked: {len(results)}; violations (rule × case) by impact: {totals}")
    lines.append(f"sideways scroll at 375 px: {[k for k, c in results.items() if c.get('overflow')]}")
    lines.append(f"small tap targets: {[k for k, c in results.items() if c.get('small_targets')]}")
    return "\n".join(lines)


def run_axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
             id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
             targets: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + (n.failureSummary || '')
               .replace(/\\s+/g, ' ').slice(0, 160))}))"""
    )
    return found


def sideways(page: Any) -> int:
    """How many px the page scrolls sideways (0 when it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def small_targets(page: Any) -> list[str]:
    """Visible links, buttons, fields and checkboxes (with their label) under 44 px in height or width."""
    found: list[str] = page.evaluate(
        """min => [...document.querySelectorAll(
               'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [role=tab]')]
             .filter(e => e.offsetParent !== null || getComputedStyle(e).position === 'fixed')
             .map(e => ['checkbox', 'radio'].includes(e.type) ? e.closest('label') || e : e)
             .filter((e, i, all) => all.indexOf(e) === i)
             .map(e => [e, e.getBoundingClientRect()])
             .filter(([e, r]) => r.width > 0 && (r.height < min || r.width < min))
             .map(([e, r]) => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ')[0] : ''}`
               + ` "${(e.textContent || e.value || e.name || '').trim().replace(/\\s+/g, ' ').slice(0, 20)}"`
               + ` ${Math.round(r.width)}×${Math.round(r.height)}`)""",
        MIN_TAP,
    )
    return found


def _cases() -> Iterator[Any]:
    for audience, path in PAGES:
        for lang in LANGS:
            for width in WIDTHS:
                reason = KNOWN.get((audience, path))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                yield pytest.param(audience, path, lang, width, id=f"{audience}-{path}-{lang}-{width}", marks=marks)


@pytest.mark.parametrize(("audience", "path", "lang", "width"), list(_cases()))
def test_page_is_accessible_and_fits(
    live_server: LiveServer, world: World, pages: dict[str, Any], audience: str, path: str, lang: str, width: int
) -> None:
    page = pages[audience]
    page.set_viewport_size({"width": width, "height": 812 if width < 800 else 900})
    if path in ("{present}", "{request}"):
        made = _presentation_request(live_server, world)
        url = made["app_uri"] if path == "{present}" else f"{live_server.url}/verify/present/{made['id']}"
    else:
        url = live_server.url + path.format(application=world.application, number=world.number)
    response = page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
    assert response is not None and response.status == 200, f"{path}: {response.status if response else None}"
    assert page.get_attribute("html", "lang") == ("en" if lang == "en" else "zh-CN")
    page.wait_for_load_state("load")
    violations = run_axe(page)
    overflow = sideways(page) if width < 800 else 0
    small = small_targets(page) if audience == "driver" else []

    key = f"{audience} {path} {lang} {width}"
    RESULTS[key] = {
        "url": page.url,
        "violations": violations,
        "overflow": overflow,
        "small_targets": small,
    }
    shot = OUT / f"{audience}{path.replace('/', '_').replace('{', '').replace('}', '')}-{lang}-{width}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    for v in violations:
        print(f"{key}: [{v['impact']}] {v['id']} ({v['nodes']} nodes) {v['help']}")
        for t in v["targets"]:
            print(f"    {t}")

    failing = [f"[{v['impact']}] {v['id']}: {v['targets']}" for v in violations if v["impact"] in FAILING]
    problems = []
    if failing:
        problems.append("axe-core: " + "; ".join(failing))
    if overflow > 0:
        problems.append(f"scrolls sideways by {overflow} px at {width} px")
    if small:
        problems.append(f"tap targets under {MIN_TAP} px: {small}")
    assert not problems, f"{key}: " + " | ".join(problems)
