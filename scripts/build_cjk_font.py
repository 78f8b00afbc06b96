"""Build the CJK font the licence renderer ships (src/edl/rendering/fonts/), from @fontsource/noto-sans-sc.

    .venv/bin/python scripts/build_cjk_font.py web-src/node_modules/@fontsource/noto-sans-sc src/edl/rendering/fonts

(run by `scripts/build-vendor` after `npm ci`).

The npm package holds Noto Sans SC cut into ~100 WOFF files per weight by unicode range (for browsers). This merges
the pieces that hold the characters below into one font per weight (400 regular, 700 bold: the pages draw bold
text), keeps only those characters and only what cairo draws with (no OpenType layout, no hinting), and writes WOFF
(zlib; FreeType and so cairo/fontconfig read it directly, and browsers can use the same files).

Characters: ASCII and Latin-1, general punctuation, CJK symbols and punctuation, full-width forms, and every
character of GB 2312 (its symbols and the 6,763 level-1 and level-2 hanzi: names and addresses), plus any other
character the rendering modules draw literally. The package lacks 20 rare GB 2312 hanzi and GB 2312's Greek,
Roman numerals and a few box-drawing characters; those are listed by the build.
"""

from __future__ import annotations

import contextlib
import re
import sys
import unicodedata
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

WEIGHTS = {400: "Regular", 700: "Bold"}
FAMILY = "Noto Sans SC"
DROP = ["GSUB", "GPOS", "GDEF", "BASE", "STAT", "vhea", "vmtx", "VORG", "DSIG"]


def wanted(rendering_dir: Path) -> set[int]:
    chars: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    chars |= set(range(0x2010, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF01, 0xFF5F))
    for b1 in range(0xA1, 0xF8):
        for b2 in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.add(ord(bytes([b1, b2]).decode("gb2312")))
    for source in rendering_dir.glob("*.py"):  # the labels the pages draw
        chars |= {ord(c) for c in source.read_text(encoding="utf-8") if ord(c) > 0x7F}
    return chars


def build(package: Path, weight: int, chars: set[int], out: Path) -> set[int]:
    pieces = []
    covered: set[int] = set()
    stamps: tuple[int, int] | None = None
    pattern = re.compile(rf"noto-sans-sc-(latin|latin-ext|cyrillic|\d+)-{weight}-normal\.woff$")
    for path in sorted(package.glob(f"files/*-{weight}-normal.woff")):
        if not pattern.search(path.name):
            continue
        font = TTFont(path)
        stamps = stamps or (font["head"].created, font["head"].modified)
        keep = (set(font.getBestCmap()) & chars) - covered
        if not keep:
            continue
        options = subset.Options()
        options.hinting = False
        options.drop_tables += DROP
        options.layout_features = []
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.glyph_names = False
        sub = subset.Subsetter(options)
        sub.populate(unicodes=keep)
        sub.subset(font)
        for tag in [*DROP, "prep", "fpgm", "cvt ", "gasp"]:
            if tag in font:
                del font[tag]
        covered |= keep
        piece = out.parent / f".piece-{weight}-{len(pieces)}.ttf"
        font.flavor = None
        font.recalcTimestamp = False
        font.save(piece)
        pieces.append(piece)
    merged = Merger().merge([str(p) for p in pieces])
    for p in pieces:
        p.unlink()
    style = WEIGHTS[weight]
    names = merged["name"]
    names.names = [n for n in names.names if n.nameID in (0, 13, 14)]
    for name_id, value in {
        1: FAMILY,
        2: style,
        3: f"{FAMILY.replace(' ', '')}-{style} (eDL subset)",
        4: f"{FAMILY} {style}",
        6: f"NotoSansSC-{style}",
    }.items():
        names.setName(value, name_id, 3, 1, 0x409)
    merged["OS/2"].usWeightClass = weight
    merged["OS/2"].fsSelection = 0x20 if weight >= 700 else 0x40
    merged["head"].macStyle = 1 if weight >= 700 else 0
    merged.recalcTimestamp = False  # the same package gives the same bytes (the merger stamps "now")
    merged["head"].created, merged["head"].modified = stamps
    merged.flavor = "woff"
    merged.save(out)
    return covered


def main() -> int:
    package, target = Path(sys.argv[1]), Path(sys.argv[2])
    chars = wanted(Path(__file__).resolve().parent.parent / "src/edl/rendering")
    for weight, style in WEIGHTS.items():
        out = target / f"NotoSansSC-{style}.woff"
        covered = build(package, weight, chars, out)
        lacking = "".join(chr(c) for c in sorted(chars - covered) if unicodedata.category(chr(c))[0] not in "CZ")
        print(f"build_cjk_font: {out} ({out.stat().st_size} bytes, {len(covered)} characters; lacking: {lacking})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
