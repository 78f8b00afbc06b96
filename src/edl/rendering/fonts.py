"""Is there a font that can draw Chinese? Asked of fontconfig (`fc-list :lang=zh`), the library cairo draws text with.

Without such a font cairo draws every Chinese character as an empty box, so rendering refuses with `FontMissing`
instead of producing a licence page nobody can read. The answer is remembered per fontconfig configuration (the
`FONTCONFIG_FILE` / `FONTCONFIG_PATH` environment: another configuration is another question), and only when a font
was found (a refusal is never remembered): installing fonts-noto-cjk on a running server takes effect at the next
request.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

FC_TIMEOUT_SECONDS = 20
PREFERRED = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Noto Serif CJK SC")
INSTALL_HINT = "Debian/Ubuntu: apt-get install fonts-noto-cjk"


class FontMissing(RuntimeError):
    """No font for Chinese text is installed (or fontconfig is missing); the message says what to install."""


@dataclass(frozen=True, slots=True)
class CjkFont:
    family: str
    """The family name as fontconfig knows it (what the rendered SVG's `font-family` names first)."""
    file: str


def cjk_font() -> CjkFont:
    """The font rendering uses for Chinese text; raises FontMissing when fontconfig knows none."""
    return _cjk_font(os.environ.get("FONTCONFIG_FILE"), os.environ.get("FONTCONFIG_PATH"))


def _missing(detail_zh: str, detail_en: str) -> FontMissing:
    return FontMissing(
        f"无法生成驾驶证图片：{detail_zh}。请安装中文字体（{INSTALL_HINT}） / "
        f"cannot render the licence pages: {detail_en}; install a Chinese font ({INSTALL_HINT})"
    )


@lru_cache(maxsize=8)
def _cjk_font(config_file: str | None, config_path: str | None) -> CjkFont:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise _missing("未安装 fontconfig（找不到 fc-list）", "fontconfig is not installed (no fc-list)")
    try:
        done = subprocess.run(  # a fixed program and arguments, no shell
            [fc_list, "--format", "%{family[0]}\t%{file}\n", ":lang=zh"],
            capture_output=True,
            text=True,
            timeout=FC_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _missing("fontconfig 无法运行", f"fontconfig could not run ({exc.__class__.__name__})") from None
    fonts = sorted({tuple(line.split("\t", 1)) for line in done.stdout.splitlines() if "\t" in line})
    if done.returncode != 0 or not fonts:
        raise _missing("fontconfig 找不到中文字体", "fontconfig knows no font for Chinese (fc-list :lang=zh is empty)")
    return _choose([CjkFont(family.strip(), file.strip()) for family, file in fonts])


def _choose(fonts: list[CjkFont]) -> CjkFont:
    """A sans-serif Simplified Chinese face when there is one, else any face fontconfig says covers Chinese."""
    for name in PREFERRED:
        for font in fonts:
            if font.family == name:
                return font
    sans = [f for f in fonts if "sans" in f.family.lower() or "hei" in f.family.lower()]
    return (sans or fonts)[0]
