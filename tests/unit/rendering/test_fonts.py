"""Chinese is drawn with a system CJK font when there is one, else with the font shipped in the package; with
neither (the shipped files missing or broken, no system font), rendering refuses with a clear reason instead of
drawing empty boxes."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edl.rendering import Card, CodeView, FontMissing, PageName, card_of, cjk_font, fonts, render_pdf, render_png
from tests.factories import licence

AT = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
def no_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fontconfig configuration that knows no font directory at all."""
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
        f"<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))


def card(name: str = "张三") -> Card:
    return card_of(
        licence(name=name),
        elicence_id="a" * 32,
        elicence_issued_at=AT,
        code=CodeView("EDL1:TEST", AT, AT + timedelta(seconds=180), "0" * 24),
        photo=None,
        at=AT,
    )


def test_the_installed_cjk_font_is_found() -> None:
    font = cjk_font()
    assert font.family and Path(font.file).exists()


@pytest.mark.usefixtures("no_fonts")
def test_an_empty_fontconfig_renders_with_the_shipped_font_and_draws_chinese() -> None:
    font = cjk_font()
    assert font.family == fonts.SHIPPED_FAMILY and Path(font.file).parent == fonts.SHIPPED_DIR
    zhang, li = render_png(card("张三"), PageName.FRONT), render_png(card("李四"), PageName.FRONT)
    assert zhang.startswith(b"\x89PNG") and render_pdf(card()).startswith(b"%PDF")
    # Two names of two characters each: drawn as empty boxes (no font) the pages would be identical.
    assert zhang != li
    lacking = "\u5290\u5776"  # 劐坶: GB 2312 characters the npm package lacks, drawn as the same empty boxes
    assert render_png(card(lacking), PageName.FRONT) == render_png(card(lacking[::-1]), PageName.FRONT)


@pytest.mark.usefixtures("no_fonts")
def test_a_broken_or_missing_shipped_font_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "shipped"
    broken.mkdir()
    (broken / fonts.SHIPPED_FILES[0]).write_bytes(b"wOFF not really a font")  # the other file is missing
    monkeypatch.setattr(fonts, "SHIPPED_DIR", broken)
    with pytest.raises(FontMissing, match="shipped font") as refused:
        cjk_font()
    assert "fonts-noto-cjk" in str(refused.value) and "随附字体" in str(refused.value)
    with pytest.raises(FontMissing):
        render_png(card(), PageName.FRONT)
    with pytest.raises(FontMissing):
        render_pdf(card())


def test_a_missing_fontconfig_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library() -> None:
        raise OSError("no libfontconfig")

    monkeypatch.setattr(fonts._state, "lib", None)
    monkeypatch.setattr(fonts, "_load_library", no_library)
    with pytest.raises(FontMissing, match="fontconfig"):
        cjk_font()


def test_leaving_the_empty_configuration_finds_the_system_fonts_again(
    no_fonts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cjk_font()
    assert before.family == fonts.SHIPPED_FAMILY
    monkeypatch.delenv("FONTCONFIG_FILE")
    after = cjk_font()
    assert Path(after.file).exists()  # a system Noto Sans CJK SC when installed (it is preferred), else the shipped one
    assert after.family in fonts.PREFERRED_SYSTEM or Path(after.file).parent == fonts.SHIPPED_DIR


def test_the_shipped_font_covers_gb2312_in_regular_and_bold_and_stays_small() -> None:
    ttlib = pytest.importorskip("fontTools.ttLib")
    level_1 = set()
    for row in range(0xB0, 0xD8):  # GB 2312 level-1 hanzi (3,755, the common ones: names and places)
        for cell in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                level_1.add(ord(bytes([row, cell]).decode("gb2312")))
    assert len(level_1) == 3755
    files = [fonts.SHIPPED_DIR / name for name in fonts.SHIPPED_FILES]
    assert sum(f.stat().st_size for f in files) < 4_000_000
    assert (fonts.SHIPPED_DIR / "OFL.txt").read_text(encoding="utf-8").count("SIL Open Font License") >= 1
    for path, weight in zip(files, (400, 700), strict=True):
        font = ttlib.TTFont(path)
        assert font["name"].getDebugName(1) == fonts.SHIPPED_FAMILY and font["OS/2"].usWeightClass == weight
        assert level_1 <= set(font.getBestCmap())
    lock = json.loads((Path(__file__).parents[3] / "web-src/package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@fontsource/noto-sans-sc"]["version"] == "5.3.0"
