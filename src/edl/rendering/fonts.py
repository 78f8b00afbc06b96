"""The font rendering draws Chinese with: a system CJK font when fontconfig has a good one, else the one shipped here.

cairo (under cairosvg) finds fonts through fontconfig, in this process. This package ships Noto Sans SC (regular
and bold, SIL OFL 1.1, licence in `fonts/OFL.txt`), cut to ASCII, Latin-1, CJK punctuation, full-width forms and
all of GB 2312 (built by `scripts/build-vendor` from the npm package `@fontsource/noto-sans-sc`), so the PNG/PDF
downloads work on a machine without fonts-noto-cjk. `cjk_font()` registers the shipped files with the process's
current fontconfig configuration (`FcConfigAppFontAddFile`: an in-process "application font", no file or
environment is written) and answers which family to name first in the SVG:

1. a system "Noto Sans CJK SC" / "Source Han Sans SC" (complete coverage, rare characters included), else
2. the shipped "Noto Sans SC", else
3. any other font fontconfig says covers Chinese; with none of these, `FontMissing` (what is missing and what to
   install) rather than a picture of empty boxes.

Process-wide effects, on purpose and only here: the app fonts are added to fontconfig's current configuration,
once per configuration (again if the configuration is replaced). When `FONTCONFIG_FILE` / `FONTCONFIG_PATH`
differ from those seen at the previous call (tests point them at an empty configuration), the configuration is
reloaded from them and made current, so what is asked here is what cairo draws with. A lock serialises this.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cffi

PREFERRED_SYSTEM = ("Noto Sans CJK SC", "Source Han Sans SC")
OTHER_GOOD = ("Noto Sans SC", "WenQuanYi Zen Hei", "Noto Serif CJK SC")
SHIPPED_FAMILY = "Noto Sans SC"
SHIPPED_DIR = Path(__file__).with_name("fonts")
SHIPPED_FILES = ("NotoSansSC-Regular.woff", "NotoSansSC-Bold.woff")
INSTALL_HINT = "Debian/Ubuntu: apt-get install fonts-noto-cjk"
LIBRARY_NAMES = ("libfontconfig.so.1", "libfontconfig.so", "fontconfig", "libfontconfig-1.dll", "libfontconfig.1.dylib")

_CDEF = """
typedef int FcBool;
typedef unsigned char FcChar8;
typedef struct _FcConfig FcConfig;
typedef struct _FcPattern FcPattern;
typedef struct _FcObjectSet FcObjectSet;
typedef struct _FcFontSet { int nfont; int sfont; FcPattern **fonts; } FcFontSet;
typedef enum { FcResultMatch, FcResultNoMatch, FcResultTypeMismatch, FcResultNoId, FcResultOutOfMemory } FcResult;
FcConfig *FcConfigGetCurrent(void);
FcConfig *FcInitLoadConfigAndFonts(void);
FcBool FcConfigSetCurrent(FcConfig *config);
void FcConfigDestroy(FcConfig *config);
FcBool FcConfigAppFontAddFile(FcConfig *config, const FcChar8 *file);
FcPattern *FcNameParse(const FcChar8 *name);
void FcPatternDestroy(FcPattern *p);
FcObjectSet *FcObjectSetCreate(void);
FcBool FcObjectSetAdd(FcObjectSet *os, const char *object);
void FcObjectSetDestroy(FcObjectSet *os);
FcFontSet *FcFontList(FcConfig *config, FcPattern *p, FcObjectSet *os);
void FcFontSetDestroy(FcFontSet *s);
FcResult FcPatternGetString(const FcPattern *p, const char *object, int n, FcChar8 **s);
"""


class FontMissing(RuntimeError):
    """No font for Chinese can be used (shipped font missing or broken, and none installed); says what to do."""


@dataclass(frozen=True, slots=True)
class CjkFont:
    family: str
    """The family name as fontconfig knows it (what the rendered SVG's `font-family` names first)."""
    file: str


@dataclass(slots=True)
class _State:
    ffi: Any = None
    lib: Any = None
    environment: tuple[str | None, str | None] | None = None
    config: Any = None
    """The fontconfig configuration the shipped files were added to (a pointer, compared, never dereferenced)."""


_lock = threading.Lock()
_state = _State()


def cjk_font() -> CjkFont:
    """The font rendering uses for Chinese text; raises FontMissing when there is none (see the module text)."""
    with _lock:
        lib, ffi = _library()
        _current_configuration(lib)
        system = _list(lib, ffi, ":lang=zh")
        for name in PREFERRED_SYSTEM:
            for font in system:
                if font.family == name:
                    return font
        shipped = [f for f in _list(lib, ffi, SHIPPED_FAMILY) if Path(f.file).parent == SHIPPED_DIR]
        if shipped:
            return CjkFont(SHIPPED_FAMILY, min(shipped, key=lambda f: "Bold" in f.file).file)
        if system:
            return _choose(system)
    raise _missing(
        f"随附字体 {SHIPPED_DIR} 缺失或无法读取，系统也没有中文字体",
        f"the shipped font in {SHIPPED_DIR} is missing or unreadable and fontconfig knows no other font for Chinese",
    )


def _missing(detail_zh: str, detail_en: str) -> FontMissing:
    return FontMissing(
        f"无法生成驾驶证图片：{detail_zh}。请重新安装本程序或安装中文字体（{INSTALL_HINT}） / "
        f"cannot render the licence pages: {detail_en}; reinstall eDL or install a Chinese font ({INSTALL_HINT})"
    )


def _load_library() -> tuple[Any, Any]:
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    error: OSError | None = None
    for name in LIBRARY_NAMES:
        try:
            return ffi.dlopen(name), ffi
        except OSError as exc:
            error = exc
    raise OSError(f"libfontconfig not found ({error})")


def _library() -> tuple[Any, Any]:
    if _state.lib is None:
        try:
            _state.lib, _state.ffi = _load_library()
        except OSError:
            raise _missing("未安装 fontconfig", "fontconfig is not installed (no libfontconfig)") from None
    return _state.lib, _state.ffi


def _current_configuration(lib: Any) -> None:
    """Reload fontconfig's configuration if its environment changed; add the shipped files to the current one."""
    environment = (os.environ.get("FONTCONFIG_FILE"), os.environ.get("FONTCONFIG_PATH"))
    if _state.environment is not None and environment != _state.environment:
        fresh = lib.FcInitLoadConfigAndFonts()
        if fresh:
            lib.FcConfigSetCurrent(fresh)  # takes its own reference (fontconfig >= 2.13.1)
            lib.FcConfigDestroy(fresh)
        _state.config = None  # add the shipped files to whatever is current now
    _state.environment = environment
    config = lib.FcConfigGetCurrent()
    if config != _state.config:
        for name in SHIPPED_FILES:
            path = SHIPPED_DIR / name
            if path.is_file():  # a broken file is refused by fontconfig (FcFalse) and then simply not listed
                lib.FcConfigAppFontAddFile(config, str(path).encode())
        _state.config = config


def _list(lib: Any, ffi: Any, pattern: str) -> list[CjkFont]:
    """The fonts of the current configuration matching a fontconfig pattern (`:lang=zh`, a family name)."""
    query = lib.FcNameParse(pattern.encode())
    objects = lib.FcObjectSetCreate()
    for name in (b"family", b"file"):
        lib.FcObjectSetAdd(objects, name)
    found = lib.FcFontList(ffi.NULL, query, objects)
    lib.FcObjectSetDestroy(objects)
    lib.FcPatternDestroy(query)
    fonts: set[CjkFont] = set()
    if found:
        value = ffi.new("FcChar8 **")
        for i in range(found.nfont):
            font = found.fonts[i]
            if lib.FcPatternGetString(font, b"family", 0, value) != 0:
                continue
            family = ffi.string(value[0]).decode("utf-8", "replace")
            if lib.FcPatternGetString(font, b"file", 0, value) != 0:
                continue
            fonts.add(CjkFont(family.strip(), os.fsdecode(ffi.string(value[0]))))
        lib.FcFontSetDestroy(found)
    return sorted(fonts, key=lambda f: (f.family, f.file))


def _choose(fonts: list[CjkFont]) -> CjkFont:
    """A sans-serif Simplified Chinese face when there is one, else any face fontconfig says covers Chinese."""
    for name in OTHER_GOOD:
        for font in fonts:
            if font.family == name:
                return font
    sans = [f for f in fonts if "sans" in f.family.lower() or "hei" in f.family.lower()]
    return (sans or fonts)[0]
