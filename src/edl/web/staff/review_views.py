"""What the review console shows (审核工作台): deadlines in words, the photo-check measurements beside the rules they
were held to, and the real-person authentication before submitting; each in the page's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edl.applications.face import DlibFaceVerifier, FaceOutcome, LenientDemoVerifier
from edl.applications.photo_rules import DEFAULT_RULES
from edl.applications.results import Application, FaceCheck
from edl.domain.application import ApplicationState
from edl.web.i18n import Translator
from edl.web.presenters import Tone, beijing_time

SOON_HOURS = 3
"""A deadline closer than this is shown in amber."""
KIND_KEYS = {"camera": "review.kind_camera", "album": "review.kind_album", "stored_photo": "review.kind_stored"}
FACE_OUTCOME_KEYS = {outcome.value: f"review.face_{outcome.value}" for outcome in FaceOutcome}
FACE_PROVIDERS = {v.name: (v.label_zh, v.label_en) for v in (DlibFaceVerifier, LenientDemoVerifier)}
LENIENT_PROVIDERS = frozenset({LenientDemoVerifier.name})


def due_hint(due: datetime, at: datetime, t: Translator) -> tuple[str, Tone]:
    """'超期 2 小时' / 'overdue by 2 h', '还剩 3 小时' / 'due in 3 h' (minutes below an hour, days from 48 h)."""
    seconds = (due - at).total_seconds()
    left = abs(seconds)
    if left < 3600:
        amount, unit = max(1, int(left // 60)), "minutes"
    elif left < 48 * 3600:
        amount, unit = int(left // 3600), "hours"
    else:
        amount, unit = int(left // 86400), "days"
    if seconds < 0:
        keys = {"minutes": "review.overdue_minutes", "hours": "review.overdue_hours", "days": "review.overdue_days"}
        return t(keys[unit], n=amount), Tone.BLOCK
    keys = {"minutes": "review.due_minutes", "hours": "review.due_hours", "days": "review.due_days"}
    return t(keys[unit], n=amount), Tone.WARN if seconds < SOON_HOURS * 3600 else Tone.OK


def kind_text(app: Application, t: Translator) -> str:
    kind = t(KIND_KEYS[app.kind]) if app.kind in KIND_KEYS else app.kind
    change = t("review.kind_photo_change")
    return f"{kind} · {change}" if app.photo_change else kind


def decider_text(decided_by: str | None, t: Translator) -> str:
    """Who decided: the staff username, 'the holder' (withdrawn), or the stored actor id as it is."""
    if not decided_by:
        return "-"
    if decided_by.startswith("staff:"):
        return decided_by.removeprefix("staff:")
    if decided_by.startswith("holder:"):
        return t("review.by_holder")
    return decided_by


@dataclass(frozen=True, slots=True)
class Deadline:
    at: str
    hint: str
    tone: Tone


def deadline(app: Application, at: datetime, t: Translator) -> Deadline | None:
    if app.due_at is None:
        return None
    hint, tone = due_hint(app.due_at, at, t)
    if app.state != ApplicationState.PENDING_REVIEW.value:
        hint, tone = "", Tone.OK
    return Deadline(beijing_time(app.due_at), hint, tone)


@dataclass(frozen=True, slots=True)
class QueueRow:
    url: str
    submitted: str
    deadline: Deadline | None
    holder_name: str
    number: str
    kind: str
    overdue: bool


@dataclass(frozen=True, slots=True)
class CheckRow:
    label: str
    value: str
    rule: str


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.0f}%"


def _num(value: float) -> str:
    return f"{value:g}"


# (measurement, label, how to show it, rule kind, PhotoRules attributes). Rows whose measurement was not recorded are
# left out; a rule whose threshold PhotoRules no longer has is shown as "-". Old and new measurement names both work.
_CHECKS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("colour_chroma_p95", "review.check_colour", "num", "at_least", ("min_colour_chroma",)),
    ("faces_found", "review.check_faces", "num", "one", ()),
    ("face_width_fraction", "review.check_face_size", "pct", "between", ("face_width_min", "face_width_max")),
    ("face_centre", "review.check_face_position", "position", "position", ()),
    ("face_luminance", "review.check_face_brightness", "num", "between", ("face_min_luminance", "face_max_luminance")),
    ("lighting_imbalance", "review.check_lighting", "pct", "at_most", ("lighting_max_imbalance",)),
    ("lighting_difference", "review.check_lighting", "num", "at_most", ("lighting_max_difference",)),
    ("background_luminance", "review.check_background", "num", "at_least", ("background_min_luminance",)),
    ("background_saturation", "review.check_background_colour", "num", "at_most", ("background_max_saturation",)),
    ("background_stddev", "review.check_background_plain", "num", "at_most", ("background_max_stddev",)),
    ("sharpness", "review.check_sharpness", "num", "at_least", ("min_sharpness",)),
)


def _rule_text(kind: str, attrs: tuple[str, ...], show: str, t: Translator) -> str:
    r = DEFAULT_RULES
    if kind == "one":
        return t("review.rule_one_face")
    if kind == "position":
        names = ("face_centre_x_tolerance", "face_centre_y_min", "face_centre_y_max")
        if not all(hasattr(r, n) for n in names):
            return ""
        tolerance = float(r.face_centre_x_tolerance)
        return t(
            "review.rule_face_position",
            x_low=_pct(0.5 - tolerance),
            x_high=_pct(0.5 + tolerance),
            y_low=_pct(r.face_centre_y_min),
            y_high=_pct(r.face_centre_y_max),
        )
    values = [getattr(r, a, None) for a in attrs]
    if not values or any(not isinstance(v, int | float) for v in values):
        return ""
    fmt = _pct if show == "pct" else _num
    texts = [fmt(float(v)) for v in values if v is not None]
    if kind == "between":
        return t("review.rule_between", low=texts[0], high=texts[1])
    return t("review.rule_at_least" if kind == "at_least" else "review.rule_at_most", value=texts[0])


def _measured(value: Any, show: str, t: Translator) -> str | None:
    if show == "position":
        if isinstance(value, list | tuple) and len(value) == 2:
            return t("review.value_position", x=_pct(float(value[0])), y=_pct(float(value[1])))
        return None
    if not isinstance(value, int | float):
        return None
    return _pct(value) if show == "pct" else _num(value)


def photo_check_rows(m: Mapping[str, Any], t: Translator) -> list[CheckRow]:
    """What the automatic checks measured, each beside the rule it was held to (rows for what was recorded)."""
    r = DEFAULT_RULES
    rows: list[CheckRow] = []
    size = m.get("size")
    if isinstance(size, list) and len(size) == 2:
        value = f"{m.get('format') or ''} {size[0]}×{size[1]}".strip()
        original = m.get("original_size")
        if isinstance(original, list) and original != size:
            value += " " + t("review.check_original", size="×".join(str(v) for v in original))
        rule = t("review.rule_format", width=r.min_width, height=r.min_height)
        rows.append(CheckRow(t("review.check_format"), value, rule))
    for key, label, show, kind, attrs in _CHECKS:
        measured = _measured(m.get(key), show, t)
        if measured is None:
            continue
        if key == "lighting_imbalance" and isinstance(m.get("face_left_luminance"), int | float):
            left, right = _num(m["face_left_luminance"]), _num(m.get("face_right_luminance", 0))
            measured += " " + t("review.value_left_right", left=left, right=right)
        rows.append(CheckRow(t(label), measured, _rule_text(kind, attrs, show, t)))
    notes = []
    if m.get("exif_orientation") not in (None, 0, 1):
        notes.append(t("review.note_rotated"))
    if m.get("colour_profile"):
        notes.append(t("review.note_profile"))
    if m.get("flattened_transparency"):
        notes.append(t("review.note_transparency"))
    if notes:
        rows.append(CheckRow(t("review.check_processing"), "; ".join(notes), ""))
    return rows


@dataclass(frozen=True, slots=True)
class FaceView:
    provider: str
    outcome: str
    passed: bool
    """A real comparison that passed (never a lenient provider's pass: it compared nothing)."""
    lenient: bool
    distance: str | None
    at: str
    tone: str = "block"
    """'ok' (a real pass: ✓), 'neutral' (the lenient demo let it through: not compared) or 'block' (failed: ✕)."""


def face_view(check: FaceCheck | None, threshold: float, t: Translator) -> FaceView | None:
    if check is None:
        return None
    label = FACE_PROVIDERS.get(check.provider)
    distance = None
    if check.distance is not None:
        distance = t("review.face_distance_value", distance=f"{check.distance:.3f}", threshold=f"{threshold:g}")
    lenient = check.provider in LENIENT_PROVIDERS  # the record names the provider that decided
    passed = check.outcome == FaceOutcome.PASSED.value
    outcome = t(FACE_OUTCOME_KEYS[check.outcome]) if check.outcome in FACE_OUTCOME_KEYS else check.outcome
    if passed and lenient:  # let through without comparing: not a match, whatever the outcome says
        outcome = t("review.face_not_compared")
    return FaceView(
        provider=t.pick(*label) if label else check.provider,
        outcome=outcome,
        passed=passed and not lenient,
        lenient=lenient,
        distance=distance,
        at=beijing_time(check.at),
        tone="neutral" if passed and lenient else "ok" if passed else "block",
    )
