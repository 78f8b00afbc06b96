"""Chinese personal names: splitting 姓 (family name) from 名 (given name)."""

from __future__ import annotations

# Compound (two-character) surnames (复姓) in current use; a name starting with one of these has a 2-char 姓.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 南宫 西门 独孤 "
    "百里 呼延 澹台 公冶 太史 申屠 万俟 闻人 赫连 濮阳 淳于 单于 拓跋 东郭 南门 羊舌 微生 梁丘 左丘 第五".split()
)


def split_name(name: str) -> tuple[str, str]:
    """(family, given) of a 汉字 name; names with a '·' (e.g. transliterated minority names) split at it."""
    text = name.strip()
    if "·" in text:
        given, _, family = text.partition("·")
        return family, given
    if len(text) >= 3 and text[:2] in COMPOUND_SURNAMES:
        return text[:2], text[2:]
    return text[:1], text[1:]
