"""How the verifier page reads an online result (no database): the colour, the reasons in plain words, and only the
fields the result object holds, in the purpose table's order."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from edl.verification.purposes import FIELDS
from edl.web.i18n import Lang, Translator
from edl.web.presenters import Tone
from edl.web.verifier.scan import split_scanned
from edl.web.verifier.views import field_views, result_view

ZH = Translator(Lang.ZH)
EN = Translator(Lang.EN)


def answer(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"valid": True, "status": "valid", "errors": [], "warnings": [], "fields": {}}
    return {**base, **kw}


def test_valid_is_green_and_says_so_in_both_languages() -> None:
    view = result_view(answer(fields={"name": "张三"}), ZH, method="code")
    assert (view.tone, view.headline) == (Tone.OK, "有效")
    assert result_view(answer(), EN, method="code").headline == "Valid"


def test_valid_with_a_warning_is_amber() -> None:
    view = result_view(answer(status="unknown", warnings=["状态未能确认 / status not confirmed"]), ZH, method="code")
    assert view.tone is Tone.WARN
    assert view.warnings == ("状态未能确认",)


def test_reasons_are_plain_words_per_error_code() -> None:
    errors = [{"code": "expired", "message": "x"}, {"code": "signature_invalid", "message": "y"}]
    view = result_view(answer(valid=False, errors=errors), ZH, method="code")
    assert view.tone is Tone.BLOCK and view.headline == "无效"
    assert any("已过期" in r for r in view.reasons) and any("伪造" in r for r in view.reasons)
    unknown = result_view(
        answer(valid=False, errors=[{"code": "new_code", "message": "中文 / English"}]), EN, method="code"
    )
    assert unknown.reasons == ("English",), "an error the page does not know shows its own message"


def test_a_refused_status_without_errors_still_gets_a_reason() -> None:
    view = result_view(answer(valid=False, status="suspended"), ZH, method="code")
    assert view.reasons and "暂扣" in view.reasons[0]


def test_only_known_fields_are_shown_in_table_order() -> None:
    views = field_views({"status": "A", "name": "张三", "secret": "x", "classes": ["A2", "D"]}, ZH)
    assert [v.name for v in views] == ["name", "classes", "status"]
    assert views[1].text == "A2 D"


def test_a_photo_must_be_an_image_data_url() -> None:
    ok = field_views({"photo": "data:image/jpeg;base64,AAAA"}, ZH)[0]
    assert ok.photo == "data:image/jpeg;base64,AAAA"
    for bad in ("javascript:alert(1)", "https://cdn.example/x.jpg", "data:text/html;base64,AAAA"):
        assert field_views({"photo": bad}, ZH)[0].photo == ""


@given(st.dictionaries(st.sampled_from([f.value for f in FIELDS] + ["x", "y"]), st.text(max_size=20)))
def test_never_a_field_the_result_does_not_hold(fields: dict[str, str]) -> None:
    shown = {v.name for v in field_views(fields, EN)}
    assert shown <= set(fields) and shown == set(fields) & {f.value for f in FIELDS}


def test_what_was_scanned_picks_the_path() -> None:
    assert split_scanned("EDL1:ABC", "code128") == ("EDL1:ABC", None)
    assert split_scanned("whatever", "qr") == (None, None), "a QR code without the prefix names no e-licence"
    assert split_scanned("https://example.com/pay?id=1", "qr") == (None, None)
    assert split_scanned("EDL1:ABC", "qr") == ("EDL1:ABC", None)
    assert split_scanned(" 0123abcd ", "code128") == (None, "0123abcd")
    assert split_scanned("edl1:abc") == ("edl1:abc", None)
