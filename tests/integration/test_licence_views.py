"""The licence page as three views (issue 13): 亮码 / 正页 / 副页 are tabs, one panel shown at a time, the current tab
marked (aria-selected, aria-current), chosen without JavaScript by `?view=`; exactly one QR code is shown in any view;
the 亮码 card carries the holder's photo and name and a security mark whose colour and phase classes come from the
live code's issued-at second. (The browser side, switching in place, the moving mark and the wake lock:
tests/browser/test_licence_views_browser.py.)"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from edl.bootstrap import Container
from edl.issuance.elicences import issue_elicence
from edl.web import create_app
from edl.web.holder.licence import mark_classes
from tests.auth_helpers import sign_in_holder
from tests.workflow import prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, 5, tzinfo=UTC)
MOBILE = "13900139010"
PANEL = re.compile(r'(<section id="(code|front|back)"[^>]*>)(.*?)</section>', re.S)
HIDDEN = re.compile(r"\shidden[\s>]")
TAB = re.compile(r'<a id="tab-(code|front|back)"[^>]*>', re.S)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    prepare(container, NOW)
    with TestClient(create_app(container), follow_redirects=False) as c:
        number = seed_licence(container, NOW, name="欧阳娜娜")
        issue_elicence(container.sessions, container.issuer, number, actor="test", at=NOW)
        seed_account(container, NOW, number=number, mobile=MOBILE)
        sign_in_holder(client=c, container=container, mobile=MOBILE)
        yield c


def _panels(html: str) -> dict[str, tuple[bool, str]]:
    """Each view's panel: (hidden?, its content)."""
    found = {
        m.group(2): (re.search(r"\shidden[\s>]", m.group(1)) is not None, m.group(3)) for m in PANEL.finditer(html)
    }
    assert set(found) == {"code", "front", "back"}, found.keys()
    return found


def _tabs(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in TAB.finditer(html)}


@pytest.mark.parametrize(
    ("query", "view"), [("", "code"), ("?view=front", "front"), ("?view=back", "back"), ("?view=x", "code")]
)
def test_one_view_at_a_time_with_the_current_tab_marked(client: TestClient, query: str, view: str) -> None:
    html = client.get(f"/app/licence{query}").text
    assert 'role="tablist"' in html
    panels = _panels(html)
    assert [v for v, (hidden, _) in panels.items() if not hidden] == [view]
    tabs = _tabs(html)
    for name, tag in tabs.items():
        selected = name == view
        assert f'aria-selected="{"true" if selected else "false"}"' in tag, tag
        assert ('aria-current="page"' in tag) is selected, tag
        assert f'href="/app/licence?view={name}"' in tag, "each tab works without JavaScript"
    shown_qrs = sum(content.count("data-live-qr") for hidden, content in panels.values() if not hidden)
    assert shown_qrs == (0 if view == "back" else 1), "one QR code at most: the 亮码's or the front page's"


def test_the_code_card_shows_photo_name_and_a_mark_tied_to_the_code(client: TestClient, container: Container) -> None:
    html = client.get("/app/licence").text
    code = _panels(html)["code"][1]
    assert re.search(r'<img class="code-photo" src="/app/licence/photo" alt="[^"]*欧阳娜娜"', code)
    assert '<p class="code-name">欧阳娜娜</p>' in code
    mark = re.search(r'<div class="live-mark ([^"]+)" data-live-mark data-issued-at="([^"]+)"', code)
    assert mark, code
    issued = datetime.fromisoformat(mark.group(2).replace("Z", "+00:00"))
    assert mark.group(1) == mark_classes(issued)
    assert "data-live-now>10:00:05<" in code, "the time now (Beijing), ticking with JavaScript"
    assert client.get("/app/licence/photo").status_code == 200


def test_the_mark_classes_change_with_every_second() -> None:
    seconds = [datetime(2026, 3, 16, 2, 0, s, tzinfo=UTC) for s in range(0, 24)]
    marks = [mark_classes(at) for at in seconds]
    assert all(a != b for a, b in itertools.pairwise(marks))
    assert all(re.fullmatch(r"mark-h(\d|1[01]) mark-p[0-3]", m) for m in marks)
