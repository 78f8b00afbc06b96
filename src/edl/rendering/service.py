"""Load what the licence pages show for one licence, at one moment: the registry's licence (status and points as
they are now), its live e-licence, the photo on it, and a fresh signed live code (亮码) for the QR with the barcode
number made with it.

Used by the holder's pages and downloads and by `edl credential render`. Raises NoActiveElicence when the licence has
no live e-licence, LicenceNotFound / InvalidIdNumber for an unknown or malformed number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from edl.db.models import ElicenceRow
from edl.db.session import transaction
from edl.domain import Licence
from edl.domain.scope import AuthorityScope
from edl.issuance.livecodes import CodeMaker, NoActiveElicence, make_live_code
from edl.registry.queries import get_licence_detail
from edl.rendering.card import Card, CodeView, card_of
from edl.storage.photos import PhotoNotFound, PhotoStore


@dataclass(frozen=True, slots=True)
class CardSource:
    card: Card
    licence: Licence
    """The registry's licence the card was made from (the web page shows its badges beside the card)."""


def load_card(
    sessions: sessionmaker[Session], codes: CodeMaker, photos: PhotoStore, number: str, *, at: datetime
) -> CardSource:
    """The card of licence `number` at `at`, with a live code made now (the code is not stored anywhere)."""
    with transaction(sessions) as session:
        detail = get_licence_detail(session, number, scope=AuthorityScope.national())  # the holder's own, or the CLI
        live = make_live_code(session, codes, str(detail.licence.number), at=at)
        row = session.get(ElicenceRow, live.elicence_id)
        if row is None:  # the code names the e-licence it was made for; it is there unless the database changed
            raise NoActiveElicence(f"电子驾驶证 {live.elicence_id} 不存在 / no e-licence {live.elicence_id}")
        photo_ref, issued_at = row.photo_ref, row.issued_at
    try:
        photo: bytes | None = photos.get(photo_ref)
    except PhotoNotFound:
        photo = None
    code = CodeView(live.text, live.issued_at, live.expires_at, live.barcode)
    card = card_of(
        detail.licence,
        elicence_id=live.elicence_id,
        elicence_issued_at=issued_at,
        code=code,
        photo=photo,
        at=code.issued_at,
    )
    return CardSource(card, detail.licence)
