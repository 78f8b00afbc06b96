"""The holder's e-licence (电子驾驶证): the front page (正页) with photo, QR and barcode, and the secondary page (副页).

Status and points are read live from the registry on every view: a 暂扣 entered in the registry shows at once, with a
banner that the licence is not valid for driving while a blocking status holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.applications import service
from edl.bootstrap import Container
from edl.db.models import ElicenceRow
from edl.domain import CLASS_TABLE, VehicleClass
from edl.registry.queries import get_licence_detail
from edl.web.auth_deps import HolderSession, current_holder
from edl.web.codes import code128_svg, licence_barcode_payload, licence_qr_payload, qr_svg
from edl.web.deps import get_container, get_pages
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import (
    Tone,
    beijing_today,
    class_rows,
    nationality_text,
    points_view,
    record_kind_text,
    sex_text,
    status_badges,
    validity_end_text,
)
from edl.web.rendering import Pages
from edl.web.routes.holder_apply import photo_response
from edl.web.routes.holder_common import app_url, application_view, aware, local_time, page_context

router = APIRouter(tags=["holder"])

VOID_KEYS: dict[str, str] = {
    "classes_changed": "holder.void_classes_changed",
    "renewed": "holder.void_renewed",
    "authority_changed": "holder.void_authority_changed",
    "reissued": "holder.void_reissued",
}


@dataclass(frozen=True, slots=True)
class ClassExplained:
    """A held class code, its name, and what it also permits (codes with names), as the secondary page lists them."""

    code: str
    name: str
    other_name: str
    also: tuple[str, ...]


def classes_explained(classes: tuple[VehicleClass, ...], t: Translator) -> list[ClassExplained]:
    rows = []
    for r in class_rows(classes):
        also = tuple(
            f"{code} {t.pick(CLASS_TABLE[VehicleClass(code)].name_zh, CLASS_TABLE[VehicleClass(code)].name_en)}"
            for code in r.also_permits
        )
        rows.append(ClassExplained(r.code, t.pick(r.name_zh, r.name_en), t.pick(r.name_en, r.name_zh), also))
    return rows


def _latest_elicence(container: Container, number: str) -> ElicenceRow | None:
    with container.sessions() as session:
        return session.scalar(
            select(ElicenceRow).where(ElicenceRow.licence_number == number).order_by(ElicenceRow.issued_at.desc())
        )


@router.get("/app/licence", name="holder_licence")
def licence_page(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: Container = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """The e-licence, or why there is none and where to apply."""
    t = Translator(negotiate(request))
    ov = service.overview(container, holder.account_id, at=container.clock())
    number = ov.account.licence_number
    if number is None or ov.licence is None:
        return RedirectResponse(app_url(request, "/app"), 303)
    ctx: dict[str, Any] = {
        **page_context(request, holder.account_id),
        "home_url": app_url(request, "/app"),
        "elicence": ov.elicence,
    }
    if ov.elicence is None:
        latest = _latest_elicence(container, number)
        reason = ""
        if latest is not None and latest.void_reason:
            reason = t(VOID_KEYS.get(latest.void_reason, "holder.void_other"))
        ctx.update({"void_reason": reason, "voided_at": local_time(latest.voided_at) if latest else ""})
        return pages.render(request, "holder/licence.html", ctx)

    with container.sessions() as session:  # the primary: status and points as the registry holds them now
        detail = get_licence_detail(session, number)
    lic = detail.licence
    today = beijing_today(container.clock())
    badges = status_badges(lic.effective_statuses(today), t)
    e = ov.elicence
    issued_at = aware(e.issued_at)
    pending = application_view(request, ov.pending, t) if ov.pending else None
    eligible = ov.eligibility is not None and ov.eligibility.eligible
    ctx.update(
        {
            "lic": lic,
            "sex": sex_text(lic.holder.sex, t),
            "nationality": nationality_text(lic.holder.nationality, t),
            "classes": " ".join(c.value for c in lic.classes),
            "validity_end": validity_end_text(lic.validity, t),
            "badges": badges,
            "blocking": [b.label for b in badges if b.tone is Tone.BLOCK],
            "points": points_view(lic, today),
            "generated": local_time(issued_at),
            # FOR NOW: the QR holds "EDL-ELICENCE:<id>:<generation epoch>" and the barcode the e-licence id; a later
            # issue replaces both with the short-lived signed code (亮码). See edl.web.codes.
            "qr": qr_svg(licence_qr_payload(e.id, issued_at), title=t("holder.card_qr")),
            "barcode": code128_svg(licence_barcode_payload(e.id), title=t("holder.card_barcode")),
            "elicence_id": e.id,
            "photo_url": app_url(request, "/app/licence/photo"),
            "record": [
                (r.on.isoformat(), record_kind_text(r.kind.value, t), r.description, r.points) for r in lic.record
            ],
            "class_rows": classes_explained(lic.classes, t),
            "pending": pending,
            "change_photo_url": app_url(request, "/app/apply/photo?source=camera") if eligible and not pending else "",
        }
    )
    return pages.render(request, "holder/licence.html", ctx)


@router.get("/app/licence/photo", name="holder_licence_photo")
def licence_photo(
    request: Request,
    holder: HolderSession = Depends(current_holder),
    container: Container = Depends(get_container),
) -> Response:
    """The photo on the holder's own live e-licence (private cache headers); 404 when there is no e-licence."""
    ov = service.overview(container, holder.account_id, at=container.clock())
    return photo_response(request, container, ov.elicence.photo_ref if ov.elicence else None)
