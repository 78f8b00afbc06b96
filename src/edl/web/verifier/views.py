"""What the verifier page shows of an online result (`OnlineResult.to_json_dict()`): the verdict, the reasons in the
reader's language and the fields the party's purpose allows, labelled, in the purpose table's order."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from edl.verification.purposes import FIELDS, Field
from edl.web.errors import localise
from edl.web.i18n import Translator
from edl.web.presenters import Tone, beijing_time

REASON_KEYS: dict[str, str] = {
    "expired": "verify.reason_expired",
    "not_yet_valid": "verify.reason_not_yet_valid",
    "status_suspended": "verify.reason_suspended",
    "status_revoked": "verify.reason_revoked",
    "status_unknown": "verify.reason_unknown",
    "signature_invalid": "verify.reason_forged",
    "chain_untrusted": "verify.reason_forged",
    "signer_unknown": "verify.reason_forged",
    "unsupported_algorithm": "verify.reason_forged",
    "certificate_expired": "verify.reason_forged",
    "certificate_not_yet_valid": "verify.reason_forged",
    "code_prefix": "verify.reason_unreadable",
    "code_base45": "verify.reason_unreadable",
    "code_compression": "verify.reason_unreadable",
    "code_too_large": "verify.reason_unreadable",
    "code_cose": "verify.reason_unreadable",
    "code_claims": "verify.reason_unreadable",
    "code_lifetime": "verify.reason_unreadable",
    "signed_outside_certificate": "verify.reason_forged",
    "issuer_mismatch": "verify.reason_forged",
    "status_list_invalid": "verify.reason_unknown",
    "status_list_stale": "verify.reason_unknown",
    "malformed": "verify.reason_unreadable",
    "no_code": "verify.reason_no_code",
    "not_found": "verify.reason_not_found",
    "unknown_elicence": "verify.reason_not_found",
    "elicence_not_found": "verify.reason_not_found",
    "barcode_expired": "verify.reason_barcode_expired",
    "barcode_invalid": "verify.reason_barcode_invalid",
    "barcode_static_id": "verify.reason_barcode_static_id",
    "outside_scope": "verify.reason_outside_scope",
    "rate_limited": "verify.reason_rate_limited",
}
STATUS_KEYS = {
    "valid": "verify.status_valid",
    "suspended": "verify.status_suspended",
    "revoked": "verify.status_revoked",
    "unknown": "verify.status_unknown",
}
FIELD_LABELS: dict[Field, str] = {
    Field.NAME: "field.name",
    Field.PHOTO: "field.photo",
    Field.SEX: "field.sex",
    Field.NATIONALITY: "field.nationality",
    Field.BIRTH_DATE: "field.birth_date",
    Field.ADDRESS: "field.address",
    Field.LICENCE_NUMBER: "field.licence_number",
    Field.FILE_NUMBER: "field.file_number",
    Field.CLASSES: "field.classes",
    Field.FIRST_ISSUE: "field.first_issue",
    Field.VALID_FROM: "field.valid_from",
    Field.VALID_UNTIL: "field.valid_until",
    Field.ISSUING_AUTHORITY: "field.issuing_authority",
    Field.STATUS: "field.status",
    Field.POINTS: "field.points",
    Field.DRIVING_RECORD: "field.driving_record",
}
"""Each field's label: the glossary's (edl.domain.glossary), the same on every page."""
PHOTO_DATA_URL = re.compile(r"^data:image/(jpeg|png|webp);base64,[A-Za-z0-9+/=]+$")


@dataclass(frozen=True, slots=True)
class FieldView:
    name: str
    label: str
    text: str
    items: tuple[str, ...] = ()
    photo: str = ""
    """A data: URL of the photo (CSP allows data: images), or ''."""


@dataclass(frozen=True, slots=True)
class ResultView:
    valid: bool
    tone: Tone
    headline: str
    detail: str
    status: str
    status_text: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    registry_status: str
    fields: tuple[FieldView, ...]
    method: str
    checked_at: str
    record_id: str
    allowed: str = ""
    """The fields the party's purpose allows (what cut the result's fields), as one line; '' when not known."""


def _plain(value: Any, t: Translator) -> str:
    """A JSON value as a short line of text."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("verify.yes") if value else t("verify.no")
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        for key in ("zh", "name_zh") if t.lang.value == "zh" else ("en", "name_en"):
            if isinstance(value.get(key), str):
                return str(value[key])
        for key in ("text", "name", "label", "value", "code"):
            if key in value and not isinstance(value[key], Mapping | list):
                return _plain(value[key], t)
        return "; ".join(f"{k}: {_plain(v, t)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(_plain(v, t) for v in value) or "—"
    return str(value)


def _record_line(entry: Any, t: Translator) -> str:
    """One driving-record entry: '2025-04-01 闯红灯 (6)'."""
    if not isinstance(entry, Mapping):
        return _plain(entry, t)
    line = " ".join(str(entry[k]) for k in ("on", "description") if entry.get(k))
    points = entry.get("points")
    return f"{line} ({points})" if points else line or _plain(entry, t)


def _photo_url(value: Any) -> str:
    if isinstance(value, Mapping):
        media = str(value.get("media_type") or value.get("content_type") or "image/jpeg")
        data = value.get("data") or value.get("base64")
        value = f"data:{media};base64,{data}" if isinstance(data, str) else None
    if isinstance(value, str) and PHOTO_DATA_URL.match(value):
        return value
    return ""


def field_views(fields: Mapping[str, Any], t: Translator) -> tuple[FieldView, ...]:
    """The result's fields in the purpose table's order, labelled; names outside `Field` are not shown."""
    views = []
    for f in FIELDS:
        if f.value not in fields:
            continue
        value = fields[f.value]
        label = t(FIELD_LABELS[f])
        if f is Field.PHOTO:
            views.append(FieldView(f.value, label, "", photo=_photo_url(value)))
        elif f is Field.STATUS and isinstance(value, str) and value in STATUS_KEYS:
            views.append(FieldView(f.value, label, t(STATUS_KEYS[value])))
        elif f is Field.DRIVING_RECORD and isinstance(value, list):
            views.append(
                FieldView(f.value, label, "" if value else "—", items=tuple(_record_line(v, t) for v in value))
            )
        else:
            views.append(FieldView(f.value, label, _plain(value, t)))
    return tuple(views)


def _reason(error: Any, t: Translator) -> str:
    if isinstance(error, Mapping):
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    else:
        code, message = str(error), ""
    key = REASON_KEYS.get(code)
    if key:
        return t(key)
    return localise(message, t.lang) if message else code


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _time(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return beijing_time(at if at.tzinfo else at.replace(tzinfo=UTC))


def allowed_text(fields: Sequence[Field], t: Translator) -> str:
    """'姓名、准驾车型' / 'Name, Classes': the fields a party's purpose allows, in the purpose table's order."""
    sep = "、" if t.lang.value == "zh" else ", "
    return sep.join(t(FIELD_LABELS[f]) for f in FIELDS if f in fields)


METHOD_KEYS = {"code": "verify.method_code", "barcode": "verify.method_barcode", "openid4vp": "verify.method_openid4vp"}


def result_view(answer: Mapping[str, Any], t: Translator, *, method: str, allowed: Sequence[Field] = ()) -> ResultView:
    """The page's reading of an online result (`OnlineResult.to_json_dict()`): verdict, reasons, allowed fields.

    `allowed` is the party's `Party.fields`, the same list the verifier cut the result's fields with."""
    valid = bool(answer.get("valid"))
    status = str(answer.get("status") or "unknown")
    warnings_ = _dedupe([localise(str(w), t.lang) for w in answer.get("warnings") or ()])
    reasons = _dedupe([_reason(e, t) for e in answer.get("errors") or ()])
    if not valid and not reasons and status in ("suspended", "revoked", "unknown"):
        reasons = (t(REASON_KEYS[f"status_{status}"]),)
    if valid:
        tone = Tone.WARN if status != "valid" or warnings_ else Tone.OK
        headline = t("verify.valid_warn") if tone is Tone.WARN else t("verify.valid")
        detail = t("verify.valid_detail")
    else:
        tone, headline, detail = Tone.BLOCK, t("verify.invalid"), t("verify.invalid_detail")
    fields = answer.get("fields") or {}
    registry = answer.get("registry_status")
    return ResultView(
        valid=valid,
        tone=tone,
        headline=headline,
        detail=detail,
        status=status,
        status_text=t(STATUS_KEYS.get(status, "verify.status_unknown")),
        reasons=reasons,
        warnings=warnings_,
        registry_status=_plain(registry, t) if registry else "",
        fields=field_views(fields if isinstance(fields, Mapping) else {}, t),
        method=t(METHOD_KEYS.get(str(answer.get("method", method)), "verify.method_barcode")),
        checked_at=_time(answer.get("checked_at")),
        record_id=str(answer.get("verification_id") or ""),
        allowed=allowed_text(allowed, t),
    )
