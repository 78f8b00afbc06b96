"""Identifiers ISO/IEC 18013-5 gives the mobile driving licence."""

from __future__ import annotations

from typing import Final

MDL_DOCTYPE: Final = "org.iso.18013.5.1.mDL"
MDL_NAMESPACE: Final = "org.iso.18013.5.1"
