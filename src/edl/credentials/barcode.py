"""The number under the Code 128 barcode: short-lived, derived per e-licence, checked online (docs/code-format.md).

A barcode carries no signature and proves nothing offline; online it names one e-licence for a minute or two. The
number is 24 decimal digits (Code 128 code set C prints two digits per symbol):

    serial (10 digits) || step mod 100 (2 digits) || tag (12 digits)

* **serial**: the e-licence's status-list index (unique, never reused, < 2³²): the server finds the e-licence by it
  through a unique index, never by scanning.
* **step**: ``floor(unix time / step_seconds)`` when the number was made; only its last two digits are printed, so the
  verifier knows which step to check without trying many.
* **tag**: ``HMAC-SHA256(key, "edl-barcode-1" || serial (8 bytes, big-endian) || step (8 bytes, big-endian))``, its
  first 8 bytes read as an unsigned big-endian integer, modulo 10¹², as 12 digits. The key is a server secret.

`BarcodeScheme.read` accepts the current and the previous step (and, for a server whose clock is behind the one that
made the number, the steps up to ``now + leeway``: never older ones). A genuine number from an older step (up to
`EXPIRED_HORIZON` back) is refused as `barcode_expired`; a wrong tag as `barcode_invalid`; the static 32-hex e-licence
id, which the barcode carried before, as `barcode_static_id`; any other text as `malformed`.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from edl.credentials.errors import ErrorCode

SERIAL_DIGITS: Final = 10
STEP_DIGITS: Final = 2
TAG_DIGITS: Final = 12
LENGTH: Final = SERIAL_DIGITS + STEP_DIGITS + TAG_DIGITS
STEP_MODULUS: Final = 10**STEP_DIGITS
MAX_SERIAL: Final = 10**SERIAL_DIGITS - 1
EXPIRED_HORIZON: Final = timedelta(days=7)
"""How far back a genuine number is still recognised as expired (older ones read as `barcode_invalid`): one HMAC per
100 steps, about 100 for a wrong number at 60-s steps."""
_DOMAIN: Final = b"edl-barcode-1"
_NUMBER = re.compile(rf"[0-9]{{{LENGTH}}}", re.ASCII)
_STATIC_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)
_IGNORED = str.maketrans("", "", " -\t")


class BarcodeRefused(Exception):
    """A barcode number that names no e-licence now: `code` (an `ErrorCode`) and a '中文 / English' message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_MALFORMED = (
    ErrorCode.MALFORMED,
    f"条码号码应为 {LENGTH} 位数字 / a barcode number is {LENGTH} decimal digits",
)
_STATIC = (
    ErrorCode.BARCODE_STATIC_ID,
    "这是固定的电子驾驶证编号，不能用于核验；请扫描持证人当前页面上的条码或二维码 / this is the fixed e-licence id, "
    "which is not accepted: scan the barcode or QR code on the holder's current page",
)
_INVALID = (
    ErrorCode.BARCODE_INVALID,
    "条码号码无效：号码有误、不是本系统生成的，或已过期很久 / the barcode number is not valid: mistyped, not made by "
    "eDL, or long expired",
)
_EXPIRED = (
    ErrorCode.BARCODE_EXPIRED,
    "条码已过期：条码号码每分钟更新，只在生成后约 1 至 2 分钟内有效；请持证人刷新后重新出示 / the barcode has "
    "expired: its number changes every minute and is valid for about 1 to 2 minutes; ask the holder to show a "
    "fresh one",
)


@dataclass(frozen=True, slots=True)
class BarcodeNumber:
    """A number as printed under the barcode, and the last moment `read` accepts it (without leeway)."""

    text: str
    serial: int
    step: int
    accepted_until: datetime


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def normalise_barcode_text(value: str) -> str:
    """The scanned or typed text without spaces, tabs and dashes, lower case (for the static-id check)."""
    return value.strip().translate(_IGNORED).lower()


class BarcodeScheme:
    """Makes and reads barcode numbers with one server key; `step_seconds` per step, `leeway_seconds` ahead only."""

    def __init__(self, key: bytes, *, step_seconds: int = 60, leeway_seconds: int = 0) -> None:
        if len(key) < 16:
            raise ValueError("the barcode key must be at least 16 bytes")
        if step_seconds < 1 or leeway_seconds < 0:
            raise ValueError("step_seconds must be positive and leeway_seconds not negative")
        self._mac = hmac.new(key, _DOMAIN, "sha256")
        self.step_seconds = step_seconds
        self.leeway_seconds = leeway_seconds

    def _tag(self, serial: int, step: int) -> str:
        mac = self._mac.copy()
        mac.update(serial.to_bytes(8, "big") + step.to_bytes(8, "big"))
        value = int.from_bytes(mac.digest()[:8], "big") % 10**TAG_DIGITS
        return f"{value:0{TAG_DIGITS}d}"

    def step_at(self, at: datetime, *, ahead: timedelta = timedelta(0)) -> int:
        """The step holding `at` (+ `ahead`): whole steps since 1970-01-01T00:00:00Z, in exact arithmetic."""
        if at.tzinfo is None:
            raise ValueError("`at` must be timezone-aware")
        return (at + ahead - _EPOCH) // timedelta(seconds=self.step_seconds)

    def number(self, serial: int, *, at: datetime) -> BarcodeNumber:
        """The number of e-licence `serial` (its status-list index) for the step holding `at`."""
        if not 0 <= serial <= MAX_SERIAL:
            raise ValueError(f"serial {serial} does not fit {SERIAL_DIGITS} digits")
        step = self.step_at(at)
        text = f"{serial:0{SERIAL_DIGITS}d}{step % STEP_MODULUS:0{STEP_DIGITS}d}{self._tag(serial, step)}"
        until = datetime.fromtimestamp((step + 2) * self.step_seconds, UTC) - timedelta(microseconds=1)
        return BarcodeNumber(text, serial, step, until)

    def read(self, value: str, *, at: datetime) -> int:
        """The serial (status-list index) a current number names; raises `BarcodeRefused` otherwise.

        Accepted: the step holding `at`, the one before, and steps up to ``at + leeway`` (a maker's clock ahead of
        ours). The printed step digits pick the one step to check; an older genuine number (same digits, whole
        cycles of 100 steps back, up to `EXPIRED_HORIZON`) is expired. The tag is compared in constant time.
        """
        text = normalise_barcode_text(value)
        if not _NUMBER.fullmatch(text):
            raise BarcodeRefused(*(_STATIC if _STATIC_ID.fullmatch(text) else _MALFORMED))
        serial = int(text[:SERIAL_DIGITS])
        residue = int(text[SERIAL_DIGITS : SERIAL_DIGITS + STEP_DIGITS])
        tag = text[SERIAL_DIGITS + STEP_DIGITS :]
        newest = self.step_at(at, ahead=timedelta(seconds=self.leeway_seconds))
        oldest_current = self.step_at(at) - 1
        oldest = self.step_at(at, ahead=-EXPIRED_HORIZON)
        step = newest - (newest - residue) % STEP_MODULUS
        while step >= oldest:
            if hmac.compare_digest(self._tag(serial, step), tag):
                if step >= oldest_current:
                    return serial
                raise BarcodeRefused(*_EXPIRED)
            step -= STEP_MODULUS
        raise BarcodeRefused(*_INVALID)


__all__ = [
    "EXPIRED_HORIZON",
    "LENGTH",
    "TAG_DIGITS",
    "BarcodeNumber",
    "BarcodeRefused",
    "BarcodeScheme",
    "normalise_barcode_text",
]
