"""Which program last wrote the photo, read from its metadata before `check_photo` strips every block of it.

A photo that a retouching app (美图秀秀, 美颜相机, Photoshop, FaceTune, …) saved names the app in EXIF Software
(0x0131) or ProcessingSoftware (0x000B), XMP CreatorTool, or a PNG text chunk. That is evidence of editing, not of
excessive retouching (a crop in the same app leaves the same name), so it is a flag for the reviewer, never a
refusal. The app list is one table, `EDITING_APPS`, to extend without touching the logic.
"""

from __future__ import annotations

import re

from PIL import Image

EDITING_APPS: dict[str, str] = {
    "meitu": "美图秀秀 Meitu",
    "美图": "美图秀秀 Meitu",
    "beautycam": "美颜相机 BeautyCam",
    "美颜": "美颜相机 BeautyCam",
    "xingtu": "醒图 Xingtu",
    "醒图": "醒图 Xingtu",
    "faceu": "Faceu 激萌",
    "ulike": "轻颜 Ulike",
    "轻颜": "轻颜 Ulike",
    "b612": "B612 咔叽",
    "facetune": "Facetune",
    "photoshop": "Adobe Photoshop",
    "lightroom": "Adobe Lightroom",
    "snapseed": "Snapseed",
    "picsart": "PicsArt",
    "vsco": "VSCO",
    "airbrush": "AirBrush",
    "youcam": "YouCam Makeup",
    "perfect365": "Perfect365",
    "gimp": "GIMP",
}

_XMP_TOOL = re.compile(rb"CreatorTool(?:>|=\")([^<\"]{1,200})")


def software_names(img: Image.Image) -> list[str]:
    """Every program name the file's metadata gives (EXIF, XMP, PNG text), as written; unreadable blocks skipped."""
    names: list[str] = []
    try:
        exif = img.getexif()
    except Exception:  # broken EXIF: nothing to read there, the pixels are still checked
        exif = Image.Exif()
    names += [str(exif[tag]) for tag in (0x0131, 0x000B) if tag in exif]
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if isinstance(xmp, bytes):
        names += [m.decode("utf-8", "replace") for m in _XMP_TOOL.findall(xmp)]
    for key in ("Software", "software"):
        value = img.info.get(key)
        if isinstance(value, str):
            names.append(value)
    return [n.strip()[:100] for n in names if n.strip()]


def editing_app(names: list[str]) -> str | None:
    """The first known editing app among `names`, by its display name; None for a camera or an unknown program."""
    for name in names:
        lowered = name.lower()
        for needle, display in EDITING_APPS.items():
            if needle in lowered:
                return display
    return None
