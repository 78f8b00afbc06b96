"""Relying parties in the staff console (核验方管理, admins only): list, register (the API key is shown once), revoke.

Pages use the review console's layout and sign-in; every form carries the CSRF token and every POST depends on
`require_csrf`. Registration and revocation are audited by `edl.verification.parties` (action `staff_changed`,
with the change in the detail). An admin sees, registers and revokes only parties within its own authority scope
(the service enforces it: `edl.accounts.admin_scope`); a new party's scope defaults to the admin's own. The key
appears only in the answer to the registration POST, which is never cached (`Cache-Control: no-store`) and never
logged.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from edl.accounts import AccountError, parse_authorities
from edl.audit import ActorKind
from edl.db.session import transaction
from edl.domain.scope import AuthorityScope
from edl.verification.parties import PartyRecord, PartyRefused, list_parties, register_party, revoke_party
from edl.verification.purposes import FIELDS, RULES, Field, Purpose
from edl.web.audience import staff
from edl.web.auth_deps import Role, StaffSession, require_csrf, require_role
from edl.web.deps import AppServices, get_container, get_pages
from edl.web.errors import localise
from edl.web.i18n import Translator, negotiate
from edl.web.presenters import beijing_time
from edl.web.rendering import Pages
from edl.web.staff.console import console_context
from edl.web.verifier.views import FIELD_LABELS

router = APIRouter(tags=["relying-parties"])
log = structlog.get_logger("edl.web.parties")
CSRF = [Depends(require_csrf)]
admin_only = require_role(Role.ADMIN)

PATH = "/review/relying-parties"
CONFIRMED = "yes"
"""The value of the required `confirm` box a revocation must carry (a confirmation that needs no script)."""
MAX_RATE_TEXT = 9


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def field_label(f: Field, t: Translator) -> str:
    return t(FIELD_LABELS[f])  # the glossary's label (edl.domain.glossary), as on the verifier's result


def purpose_label(p: Purpose, t: Translator) -> str:
    rule = RULES[p]
    return t.pick(rule.name_zh, rule.name_en)


def _fields_text(fields: tuple[Field, ...], t: Translator) -> str:
    sep = "、" if t.lang.value == "zh" else ", "
    return sep.join(field_label(f, t) for f in fields)


def _row(request: Request, r: PartyRecord, t: Translator, default_rate: int) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "purpose": purpose_label(r.purpose, t),
        "fields": _fields_text(r.fields, t),
        "key_prefix": r.key_prefix + "…",
        "rate": str(r.rate_per_minute) if r.rate_per_minute else t("parties.rate_default", rate=default_rate),
        "scope": scope_label(r.scope, t),
        "created": beijing_time(r.created_at),
        "state": t("parties.state_active") if r.active else t("parties.state_revoked"),
        "revoked": beijing_time(r.revoked_at) if r.revoked_at else "",
        "revoke_url": f"{_root(request)}{PATH}/{r.id}/revoke" if r.active else None,
    }


def scope_label(scope: AuthorityScope, t: Translator) -> str:
    return t("parties.scope_all") if scope.codes is None else " ".join(sorted(scope.codes))


def _scope_from_form(codes: str, all_authorities: str | None) -> AuthorityScope | None:
    """The scope asked for in the form; None when the admin left it empty (the admin's own scope)."""
    if not codes.strip() and all_authorities is None:
        return None
    return AuthorityScope.of(parse_authorities([codes[:512]], all_authorities=all_authorities is not None))


def _purposes(t: Translator) -> list[dict[str, Any]]:
    return [
        {
            "value": p.value,
            "label": purpose_label(p, t),
            "fields": _fields_text(RULES[p].fields, t),
            "unknown": t(f"parties.unknown_{RULES[p].unknown.value}"),
            "configurable": RULES[p].configurable,
        }
        for p in Purpose
    ]


def _page(
    request: Request,
    staff: StaffSession,
    container: AppServices,
    pages: Pages,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    t = Translator(negotiate(request))
    with container.sessions() as session:
        parties = list_parties(session, within=staff.scope)  # a scoped admin sees only the parties it manages
    default_rate = container.settings.rate_limit_per_minute
    own = "" if staff.authorities is None else " ".join(sorted(staff.authorities))
    return pages.render(
        request,
        "staff/parties/list.html",
        {
            **console_context(request, staff, container, t, "parties"),
            "rows": [_row(request, r, t, default_rate) for r in parties],
            "purposes": _purposes(t),
            "all_fields": [(f.value, field_label(f, t)) for f in FIELDS],
            "form": form or {"name": "", "purpose": Purpose.RENTAL.value, "fields": [], "rate": "", "authorities": own},
            "my_scope": scope_label(staff.scope, t),
            "may_grant_all": staff.scope.is_national,
            "error": error,
            "add_action": _root(request) + PATH,
            "default_rate": default_rate,
        },
        status_code=status,
    )


@router.get(PATH, name="parties_admin", dependencies=staff(Role.ADMIN))
def parties_list(
    request: Request,
    staff: StaffSession = Depends(admin_only),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Every relying party (active first), with the form to register one."""
    return _page(request, staff, container, pages)


@router.post(PATH, name="parties_admin_add", dependencies=[*staff(Role.ADMIN), *CSRF])
def parties_add(
    request: Request,
    name: str = Form(""),
    purpose: str = Form(""),
    fields: list[str] = Form([]),
    rate: str = Form(""),
    authorities: str = Form(""),
    all_authorities: str | None = Form(None),
    staff: StaffSession = Depends(admin_only),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Register a party; the answer shows its API key this one time."""
    lang = negotiate(request)
    t = Translator(lang)
    form = {
        "name": name[:128],
        "purpose": purpose[:32],
        "fields": [f[:32] for f in fields[:32]],
        "rate": rate[:16],
        "authorities": authorities[:512],
    }
    try:
        chosen = Purpose(purpose.strip().lower())
    except ValueError:
        return _page(request, staff, container, pages, error=t("parties.bad_purpose"), form=form, status=400)
    rate_text = rate.strip()
    if rate_text and (not (rate_text.isascii() and rate_text.isdigit()) or len(rate_text) > MAX_RATE_TEXT):
        return _page(request, staff, container, pages, error=t("parties.bad_rate"), form=form, status=400)
    try:
        with transaction(container.sessions) as session:
            party, key = register_party(
                session,
                name=name,
                purpose=chosen,
                fields=fields or None,
                rate_per_minute=int(rate_text) if rate_text else None,
                scope=_scope_from_form(authorities, all_authorities),
                actor=f"staff:{staff.username}",
                actor_kind=ActorKind.STAFF,
                at=container.clock(),
                client=_client(request),
                by_user_id=staff.user_id,
            )
    except (PartyRefused, AccountError) as exc:
        error = localise(str(exc), lang)
        return _page(request, staff, container, pages, error=error, form=form, status=exc.status_code)
    log.info("relying_party_added", party=party.id, purpose=party.purpose.value, by=staff.username)
    return pages.render(
        request,
        "staff/parties/added.html",
        {
            **console_context(request, staff, container, t, "parties"),
            "party": party,
            "purpose": purpose_label(party.purpose, t),
            "fields": _fields_text(party.fields, t),
            "scope": scope_label(party.scope, t),
            "key": key,
            "list_url": _root(request) + PATH,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"},
    )


@router.post(PATH + "/{party_id}/revoke", name="parties_admin_revoke", dependencies=[*staff(Role.ADMIN), *CSRF])
def parties_revoke(
    request: Request,
    party_id: str,
    confirm: str = Form(""),
    staff: StaffSession = Depends(admin_only),
    container: AppServices = Depends(get_container),
    pages: Pages = Depends(get_pages),
) -> Response:
    """Revoke a party's key (at once on this server; within a few seconds on the others), once the row's required
    confirmation box is ticked; without it nothing is revoked (400)."""
    lang = negotiate(request)
    if confirm != CONFIRMED:
        t = Translator(lang)
        return _page(request, staff, container, pages, error=t("parties.confirm_required"), status=400)
    try:
        with transaction(container.sessions) as session:
            revoke_party(
                session,
                party_id,
                keys=container.party_keys,
                actor=f"staff:{staff.username}",
                actor_kind=ActorKind.STAFF,
                at=container.clock(),
                client=_client(request),
                by_user_id=staff.user_id,
            )
    except (PartyRefused, AccountError) as exc:
        return _page(request, staff, container, pages, error=localise(str(exc), lang), status=exc.status_code)
    log.info("relying_party_revoked", party=party_id, by=staff.username)
    return RedirectResponse(_root(request) + PATH, 303)
