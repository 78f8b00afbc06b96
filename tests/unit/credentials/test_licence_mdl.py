from datetime import UTC, date, datetime

import pytest

from edl.credentials.licence_mdl import (
    CN_NS,
    LONG_TERM_EXPIRY,
    MDL_NS,
    driving_privileges,
    latin,
    latin_family_name,
    mdl_namespaces,
)
from edl.domain import ValidityTerm, VehicleClass
from edl.domain.names import split_name
from tests.factories import licence

V = VehicleClass
AT = datetime(2026, 11, 25, 8, 30, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "parts"),
    [("张三", ("张", "三")), ("欧阳娜娜", ("欧阳", "娜娜")), ("司马光", ("司马", "光")), ("王", ("王", "")),
     ("阿依古丽·买买提", ("买买提", "阿依古丽"))],
)  # fmt: skip
def test_split_name_knows_compound_surnames(name: str, parts: tuple[str, str]) -> None:
    assert split_name(name) == parts


def test_latin_names_follow_passport_spelling() -> None:
    assert latin("吕") == "LYU"
    assert latin("女") == "NYU"
    assert latin("张三丰") == "ZHANGSANFENG"
    assert latin_family_name("单") == "SHAN"
    assert latin_family_name("曾") == "ZENG"


def test_mandatory_mdl_elements_are_present() -> None:
    ns = mdl_namespaces(licence(), portrait=b"\xff\xd8jpeg", generated_at=AT, valid_from=AT)
    mandatory = {
        "family_name",
        "given_name",
        "birth_date",
        "issue_date",
        "expiry_date",
        "issuing_country",
        "issuing_authority",
        "document_number",
        "portrait",
        "driving_privileges",
        "un_distinguishing_sign",
    }
    assert mandatory <= set(ns[MDL_NS])
    assert ns[CN_NS]["elicence_generated_at"] == AT.replace(microsecond=0)


def test_age_over_is_computed_at_valid_from() -> None:
    lic = licence(birth=date(1956, 11, 26), first_issue=date(1990, 1, 1), valid_from=date(2020, 1, 1))
    ns = mdl_namespaces(lic, portrait=b"", generated_at=AT, valid_from=AT)[MDL_NS]
    assert (ns["age_over_18"], ns["age_over_60"], ns["age_over_70"]) == (True, True, False)
    assert ns["age_in_years"] == 69  # the 70th birthday is tomorrow


def test_long_term_licence_has_far_expiry_and_national_flag() -> None:
    lic = licence(term=ValidityTerm.LONG_TERM, valid_from=date(2021, 1, 1))
    ns = mdl_namespaces(lic, portrait=b"", generated_at=AT, valid_from=AT)
    assert ns[MDL_NS]["expiry_date"] == LONG_TERM_EXPIRY
    assert ns[CN_NS]["validity_long_term"] is True


def test_privileges_cover_included_classes_once_per_category() -> None:
    cats = {p["vehicle_category_code"]: p for p in driving_privileges(licence(classes=(V.A2,)))}
    assert set(cats) == {"CE", "D1", "C", "B", "BE", "T"}
    assert "codes" not in cats["B"]  # C1 through A2 is not automatic-only


def test_c2_only_is_automatic_only() -> None:
    (priv,) = driving_privileges(licence(classes=(V.C2,)))
    assert priv["vehicle_category_code"] == "B" and priv["codes"] == [{"code": "78"}]
