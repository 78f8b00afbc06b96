"""亮证 / 亮码 through HTTP and the CLI, on SQLite and PostgreSQL: the holder's licence page with the live code, the
code endpoint livecode.js polls, the PNG / PDF downloads (their QR read back with zxing-cpp and verified as a signed
EDL1 code, their barcode as the current barcode number of the e-licence), `edl credential render`, and the
refusals."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cairosvg
import pytest
import typer
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from edl.bootstrap import Container
from edl.cli.credential import credential_render
from edl.credentials.barcode import BarcodeRefused
from edl.credentials.livecode import CodeResult, verify_code
from edl.db.models import ElicenceRow
from edl.issuance.elicences import issue_elicence
from edl.rendering import cjk_font, fonts
from edl.web import create_app
from tests.auth_helpers import sign_in_holder
from tests.workflow import prepare, seed_account, seed_licence

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 2, 0, 5, tzinfo=UTC)  # 10:00:05 in Beijing
MOBILE = "13900139000"
LIVE_QR = re.compile(r"data-live-qr[^>]*>\s*(<svg.*?</svg>)", re.S)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    prepare(container, NOW)
    with TestClient(create_app(container), follow_redirects=False) as c:
        yield c


def _holder_with_elicence(client: TestClient, container: Container) -> tuple[str, str]:
    number = seed_licence(container, NOW, name="欧阳娜娜")
    elicence = issue_elicence(container.sessions, container.issuer, number, actor="test", at=NOW)
    seed_account(container, NOW, number=number, mobile=MOBILE)
    sign_in_holder(client, container, MOBILE)
    return number, elicence.elicence_id


def _verified(container: Container, text: str, *, at: datetime = NOW) -> CodeResult:
    authority = container.authority
    return verify_code(
        text, [authority.root_certificate()], [s.certificate for s in authority.signers()], at=at + timedelta(seconds=5)
    )


def _barcode_names(container: Container, number: str, *, at: datetime) -> str | None:
    """The e-licence id a barcode number names at `at` (None when it is refused)."""
    try:
        serial = container.barcodes.read(number, at=at)
    except BarcodeRefused:
        return None
    with container.sessions() as s:
        return s.query(ElicenceRow.id).filter(ElicenceRow.status_index == serial).scalar()


def _read(png: bytes) -> dict[str, str]:
    formats = zxingcpp.BarcodeFormats(
        [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128]
    )  # as the verifier
    return {r.format.name: r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=formats)}


def _svg_png(svg: str) -> bytes:
    framed = svg if "xmlns=" in svg else svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    png: bytes = cairosvg.svg2png(bytestring=framed.encode(), output_width=400)
    return png


def test_the_licence_page_shows_a_verifiable_live_code_and_both_pages(client: TestClient, container: Container) -> None:
    number, elicence_id = _holder_with_elicence(client, container)
    r = client.get("/app/licence")
    assert r.status_code == 200
    html = r.text
    qrs = LIVE_QR.findall(html)
    assert len(qrs) == 2, "the big live QR and the one on the front page"
    texts = {_read(_svg_png(svg))["QRCode"] for svg in qrs}
    assert len(texts) == 1, "both show the same code"
    result = _verified(container, texts.pop())
    assert result.valid, result.errors
    assert result.claims is not None and result.claims.elicence_id == elicence_id
    assert result.claims.expires_at - result.claims.issued_at <= timedelta(seconds=180)
    # without JavaScript: the expiry time and a link that reloads the page for a fresh code
    assert "有效至" in html and "10:03:05" in html and 'href="/app/licence" data-code-refresh' in html
    assert 'data-refresh-seconds="60"' in html and "livecode.js" in html
    for shown in (number, "欧阳娜娜", "天津市和平区南京路100号", "天津市公安交通管理局", "正常"):
        assert shown in html
    for link in ("/app/licence/front.png", "/app/licence/secondary.png", "/app/licence.pdf"):
        assert f'href="{link}"' in html


def test_the_code_endpoint_gives_a_fresh_signed_code_with_its_qr(client: TestClient, container: Container) -> None:
    _, elicence_id = _holder_with_elicence(client, container)
    r = client.get("/app/licence/code")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert {"text", "svg", "issued_at", "expires_at", "refresh_seconds"} <= body.keys()
    assert body["refresh_seconds"] == 60
    assert body["text"].startswith("EDL1:") and _read(_svg_png(body["svg"])) == {"QRCode": body["text"]}
    issued = datetime.fromisoformat(body["issued_at"])
    expires = datetime.fromisoformat(body["expires_at"])
    assert issued == NOW and timedelta(0) < expires - issued <= timedelta(seconds=180)
    result = _verified(container, body["text"])
    assert result.valid and result.claims is not None and result.claims.elicence_id == elicence_id
    assert client.get("/app/licence/code").json()["text"] != body["text"], "a new nonce each time"


def test_the_code_endpoint_renews_the_barcode_with_the_code(client: TestClient, container: Container) -> None:
    _, elicence_id = _holder_with_elicence(client, container)
    page = client.get("/app/licence").text
    first = client.get("/app/licence/code").json()
    assert {"barcode", "barcode_caption", "barcode_svg"} <= first.keys()
    assert _read(_svg_png(first["barcode_svg"])) == {"Code128": first["barcode"]}
    assert first["barcode_caption"] in page, "the page shows the same number as its renewal at the same moment"
    assert 'data-live-bar=""' in page and "data-live-bar-number" in page, "livecode.js finds what to renew"
    assert _barcode_names(container, first["barcode"], at=NOW) == elicence_id

    later = NOW + timedelta(minutes=2)
    container.clock = lambda: later
    renewed = client.get("/app/licence/code").json()
    assert renewed["barcode"] != first["barcode"], "the renewal carries a fresh barcode number"
    assert _read(_svg_png(renewed["barcode_svg"])) == {"Code128": renewed["barcode"]}
    assert _barcode_names(container, renewed["barcode"], at=later) == elicence_id
    assert _barcode_names(container, first["barcode"], at=later) is None, "the first one has lapsed"


def test_the_front_png_download_reads_back_as_the_code_and_the_elicence_id(
    client: TestClient, container: Container
) -> None:
    _, elicence_id = _holder_with_elicence(client, container)
    r = client.get("/app/licence/front.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"] == 'attachment; filename="edl-licence-front-20260316-100005.png"'
    codes = _read(r.content)
    assert codes["Code128"] != elicence_id and len(codes["Code128"]) == 24
    assert _barcode_names(container, codes["Code128"], at=NOW) == elicence_id
    result = _verified(container, codes["QRCode"])
    assert result.valid and result.claims is not None and result.claims.elicence_id == elicence_id


def test_the_secondary_png_and_the_pdf_download(client: TestClient, container: Container) -> None:
    _holder_with_elicence(client, container)
    back = client.get("/app/licence/secondary.png")
    assert back.status_code == 200 and back.content.startswith(b"\x89PNG")
    assert "secondary" in back.headers["content-disposition"]
    pdf = client.get("/app/licence.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf.content)) == 2
    assert pdf.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    "path", ["/app/licence/code", "/app/licence/front.png", "/app/licence/secondary.png", "/app/licence.pdf"]
)
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/app/sign-in")


def test_without_an_elicence_there_is_no_code_and_no_download(client: TestClient, container: Container) -> None:
    number = seed_licence(container, NOW)
    seed_account(container, NOW, number=number, mobile=MOBILE)
    sign_in_holder(client, container, MOBILE)
    code = client.get("/app/licence/code")
    assert code.status_code == 404 and code.json()["error"] == "no_elicence"
    assert code.headers["cache-control"] == "no-store"
    png = client.get("/app/licence/front.png")
    assert png.status_code == 404 and "没有有效的电子驾驶证" in png.text


def test_without_a_system_chinese_font_downloads_use_the_shipped_font(
    client: TestClient, container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _holder_with_elicence(client, container)
    empty = tmp_path / "fonts.conf"
    empty.write_text(f"<fontconfig><cachedir>{tmp_path / 'fc'}</cachedir></fontconfig>", encoding="utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    try:
        assert cjk_font().family == fonts.SHIPPED_FAMILY, "the empty configuration is the one rendering uses"
        for path, kind in (
            ("/app/licence/front.png", b"\x89PNG"),
            ("/app/licence/secondary.png", b"\x89PNG"),
            ("/app/licence.pdf", b"%PDF"),
        ):
            r = client.get(path)
            assert r.status_code == 200, path
            assert r.content.startswith(kind), path
    finally:
        monkeypatch.delenv("FONTCONFIG_FILE")


def test_with_the_shipped_font_broken_and_no_system_font_downloads_answer_503_with_the_reason(
    client: TestClient, container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _holder_with_elicence(client, container)
    _no_usable_font(tmp_path, monkeypatch)
    try:
        for path in ("/app/licence/front.png", "/app/licence/secondary.png", "/app/licence.pdf"):
            r = client.get(path)
            assert r.status_code == 503, path
            assert "fonts-noto-cjk" in r.text and "中文字体" in r.text and "随附字体" in r.text
        assert client.get("/app/licence").status_code == 200, "the page itself needs no server font"
    finally:
        monkeypatch.delenv("FONTCONFIG_FILE")


def _no_usable_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty fontconfig configuration and a shipped font directory holding a broken file only."""
    empty = tmp_path / "fonts.conf"
    empty.write_text(f"<fontconfig><cachedir>{tmp_path / 'fc'}</cachedir></fontconfig>", encoding="utf-8")
    broken = tmp_path / "shipped"
    broken.mkdir()
    (broken / fonts.SHIPPED_FILES[0]).write_bytes(b"not a font")
    monkeypatch.setattr(fonts, "SHIPPED_DIR", broken)
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))


# --- edl credential render --------------------------------------------------------------------------------------

cli = typer.Typer()
cli.command("render")(credential_render)
cli.command("noop")(lambda: None)  # a second command keeps "render" a subcommand


@pytest.fixture
def issued(container: Container) -> tuple[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)  # the CLI signs with the real clock
    container.authority.init(at=now - timedelta(days=1))
    number = seed_licence(container, now)
    return number, issue_elicence(container.sessions, container.issuer, number, actor="test", at=now).elicence_id


def invoke(container: Container, *args: str) -> tuple[int, str, str]:
    env = {
        "EDL_DATA_DIR": str(container.settings.data_dir),
        "EDL_DATABASE_URL": container.settings.resolved_database_url,
    }
    result = CliRunner().invoke(cli, ["render", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_renders_the_front_page_png_with_a_valid_code(
    container: Container, issued: tuple[str, str], tmp_path: Path
) -> None:
    number, elicence_id = issued
    out = tmp_path / "front.png"
    code, stdout, stderr = invoke(container, number, "--out", str(out))
    assert code == 0, stderr
    assert f"wrote {out}" in stdout and elicence_id in stdout
    assert out.stat().st_mode & 0o077 == 0, "personal data: owner-only"
    codes = _read(out.read_bytes())
    assert _barcode_names(container, codes["Code128"], at=datetime.now(UTC)) == elicence_id
    result = _verified(container, codes["QRCode"], at=datetime.now(UTC))
    assert result.valid, result.errors


def test_cli_renders_both_pages_to_pdf_or_one_page_by_name(
    container: Container, issued: tuple[str, str], tmp_path: Path
) -> None:
    number, _ = issued
    assert invoke(container, number, "--out", str(tmp_path / "l.pdf"))[0] == 0
    pdf = (tmp_path / "l.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf)) == 2
    assert invoke(container, number, "--out", str(tmp_path / "b.png"), "--page", "secondary")[0] == 0
    assert "QRCode" not in _read((tmp_path / "b.png").read_bytes()), "the secondary page carries no code"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/x.jpg"], ".png or .pdf"),
        (["--out", "{tmp}/x.png", "--page", "back"], "--page must be one of"),
        (["--out", "{tmp}/missing/x.png"], "cannot write there"),
    ],
)
def test_cli_refuses_bad_options_with_exit_2_and_writes_nothing(
    container: Container, issued: tuple[str, str], tmp_path: Path, args: list[str], message: str
) -> None:
    number, _ = issued
    code, _, stderr = invoke(container, number, *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2 and stderr.startswith("edl: error:") and message in stderr
    assert stderr.count("\n") == 1
    assert list(tmp_path.glob("x.*")) == []


def test_cli_refuses_a_licence_without_an_elicence_or_an_unknown_one(
    container: Container, issued: tuple[str, str], tmp_path: Path
) -> None:
    bare = seed_licence(container, datetime.now(UTC), sequence=457)
    for number, said in ((bare, "没有有效的电子驾驶证"), ("11010519491231002X", "登记库中没有"), ("123", "")):
        code, _, stderr = invoke(container, number, "--out", str(tmp_path / "x.png"))
        assert code == 2 and stderr.startswith("edl: error:") and said in stderr, stderr
    assert not (tmp_path / "x.png").exists()


def test_cli_renders_with_the_shipped_font_without_a_system_chinese_font(
    container: Container, issued: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, _ = issued
    empty = tmp_path / "fonts.conf"
    empty.write_text(f"<fontconfig><cachedir>{tmp_path / 'fc'}</cachedir></fontconfig>", encoding="utf-8")
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    try:
        code, _, stderr = invoke(container, number, "--out", str(tmp_path / "x.png"))
        assert cjk_font().family == fonts.SHIPPED_FAMILY
    finally:
        monkeypatch.delenv("FONTCONFIG_FILE")
    assert code == 0, stderr
    assert (tmp_path / "x.png").read_bytes().startswith(b"\x89PNG")


def test_cli_refuses_with_the_shipped_font_broken_and_no_system_font(
    container: Container, issued: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, _ = issued
    _no_usable_font(tmp_path, monkeypatch)
    try:
        code, _, stderr = invoke(container, number, "--out", str(tmp_path / "x.png"))
    finally:
        monkeypatch.delenv("FONTCONFIG_FILE")
    assert code == 2 and "fonts-noto-cjk" in stderr
    assert not (tmp_path / "x.png").exists()
