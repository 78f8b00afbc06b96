"""Without a font for Chinese, rendering refuses with a clear reason instead of drawing empty boxes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edl.rendering import Card, CodeView, FontMissing, PageName, card_of, cjk_font, render_pdf, render_png
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


def card() -> Card:
    return card_of(
        licence(),
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
def test_an_empty_fontconfig_is_refused_with_what_to_install() -> None:
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        cjk_font()
    with pytest.raises(FontMissing):
        render_png(card(), PageName.FRONT)
    with pytest.raises(FontMissing):
        render_pdf(card())


def test_a_missing_fc_list_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FONTCONFIG_FILE", str(tmp_path / "fonts.conf"))  # a configuration never asked about before
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FontMissing, match="fontconfig"):
        cjk_font()


def test_a_found_font_is_cached_per_configuration(no_fonts: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FontMissing):
        cjk_font()
    monkeypatch.delenv("FONTCONFIG_FILE")
    assert cjk_font().family  # the default configuration still has the font: the failure was not cached
