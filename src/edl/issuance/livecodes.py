"""Make a fresh 亮码 (live code) for the live e-licence of a licence: signed now, valid a few minutes.

Used by the holder's pages (refreshed every minute), by `edl credential code` and by tests. Nothing is stored: a
code is made from the registry as it is at `at` (classes, statuses and validity: the status snapshot a verifier
sees offline) and the e-licence's status-list index. The number under the Code 128 barcode is made at the same
moment from the same index (`edl.credentials.barcode`), so every page, download and renewal shows the two together.
A suspended licence still gets a code: its snapshot says suspended, and every verifier refuses it; a revoked,
annulled or cancelled licence gets none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from edl.credentials import IssuanceError
from edl.credentials.barcode import BarcodeScheme
from edl.credentials.livecode import CodeClaims, make_code
from edl.db.models import ElicenceRow, LicenceRow
from edl.domain import DomainError
from edl.domain.credential_status import REVOKING
from edl.domain.sanction import suspends
from edl.domain.status import format_statuses
from edl.pki import Authority, PkiError
from edl.registry.mapping import licence_from_row

NONCE_BYTES = 8
"""Random bytes of each code's nonce (cti): 64 bits, so that codes made in the same second differ."""


@dataclass(frozen=True)
class LiveCode:
    text: str
    elicence_id: str
    issued_at: datetime
    expires_at: datetime
    barcode: str
    """The number under the Code 128 barcode, for the step holding `issued_at` (valid online for 1 to 2 steps)."""


class NoActiveElicence(DomainError):
    """No live code can be made for this licence; the message says why in plain words."""


class LiveCodeRefused(DomainError):
    """The authority cannot sign a live code now (no usable document signer); the message says what to do."""


@dataclass(frozen=True)
class CodeMaker:
    """What making a live code uses: the authority's document signers, the barcode scheme, and how long a code
    stays valid."""

    authority: Authority
    barcodes: BarcodeScheme
    lifetime_seconds: int


def make_live_code(session: Session, maker: CodeMaker, licence_number: str, *, at: datetime) -> LiveCode:
    """A fresh code for the live e-licence of `licence_number`, issued at `at` (whole seconds) and valid for
    `maker.lifetime_seconds`.

    Raises `NoActiveElicence` for an unknown licence, one without a live e-licence (never issued, or voided), one
    that is revoked/annulled/cancelled, or an e-licence without a status-list index (issued before indices
    existed: re-issue it). Raises `LiveCodeRefused` when no document signer may sign at `at`.
    """
    number = licence_number.strip().upper()
    row = session.get(LicenceRow, number)
    if row is None:
        raise NoActiveElicence(f"登记库中没有此驾驶证 / no licence {licence_number} in the registry")
    elicence = session.execute(
        select(ElicenceRow)
        .where(ElicenceRow.licence_number == number, ElicenceRow.voided_at.is_(None))
        .order_by(ElicenceRow.issued_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if elicence is None:
        raise NoActiveElicence(
            f"驾驶证 {number} 没有有效的电子驾驶证，请先申领 / licence {number} has no live e-licence: issue one first"
        )
    licence = licence_from_row(row)
    if licence.statuses & REVOKING:
        raise NoActiveElicence(
            f"驾驶证 {number} 已被撤销、吊销或注销，不能亮码 / licence {number} is annulled, revoked or cancelled: "
            "no code can be shown"
        )
    if suspends(elicence.suspended_until, at):
        raise NoActiveElicence(
            f"驾驶证 {number} 的电子驾驶证已停止使用，不能亮码；如有异议请到车管所窗口申诉 / the e-licence of licence "
            f"{number} is stopped: no code can be shown (appeal at a vehicle administration office counter)"
        )
    if elicence.status_index is None:
        raise NoActiveElicence(
            f"电子驾驶证 {elicence.id} 签发时尚无状态索引，请重新签发 / e-licence {elicence.id} has no status-list "
            "index (issued before status lists): re-issue it"
        )
    issued_at = at.astimezone(UTC).replace(microsecond=0)
    expires_at = issued_at + timedelta(seconds=maker.lifetime_seconds)
    claims = CodeClaims(
        elicence_id=elicence.id,
        classes=tuple(c.value for c in licence.classes),
        status=format_statuses(licence.statuses),
        status_index=elicence.status_index,
        licence_valid_until=licence.validity.end,
        issued_at=issued_at,
        expires_at=expires_at,
        nonce=os.urandom(NONCE_BYTES),
    )
    try:
        signer = maker.authority.current_signer(issued_at)
        text = make_code(claims, signer)
    except PkiError as exc:
        raise LiveCodeRefused(f"无法签发亮码 / cannot sign a live code: {exc}") from None
    except IssuanceError as exc:
        raise LiveCodeRefused(f"无法生成亮码 / cannot make a live code: {exc}") from None
    barcode = maker.barcodes.number(elicence.status_index, at=issued_at).text
    return LiveCode(text, elicence.id, issued_at, expires_at, barcode)
