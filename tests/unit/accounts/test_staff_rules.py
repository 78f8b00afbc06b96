"""Staff input rules (usernames, roles, authority scope) and the redirect target after sign-in."""

from __future__ import annotations

import pytest

from edl.accounts import InvalidStaffInput, Role, normalise_username, parse_authorities, parse_role
from edl.web.auth_deps import safe_next


def test_usernames_are_lower_case_and_limited_to_a_safe_alphabet() -> None:
    assert normalise_username(" Rev.One_2 ") == "rev.one_2"
    for bad in ("", "a", "-rev", "rev one", "审核员", "x" * 65, "rev/1"):
        with pytest.raises(InvalidStaffInput):
            normalise_username(bad)


def test_roles_are_the_three_known_ones() -> None:
    assert [parse_role(r) for r in ("reviewer", "Supervisor", " admin ")] == [
        Role.REVIEWER,
        Role.SUPERVISOR,
        Role.ADMIN,
    ]
    with pytest.raises(InvalidStaffInput, match="reviewer, supervisor or admin"):
        parse_role("root")


def test_authorities_are_six_digit_codes_or_all_never_both_or_neither() -> None:
    assert parse_authorities(["120000, 510100", "320500"], all_authorities=False) == {"120000", "510100", "320500"}
    assert parse_authorities([], all_authorities=True) is None
    for codes, everything in ((["120000"], True), ([], False), (["12000"], False), (["12000a"], False)):
        with pytest.raises(InvalidStaffInput):
            parse_authorities(codes, all_authorities=everything)


@pytest.mark.parametrize("target", ["/app", "/app/apply?step=2", "/review/queue#top"])
def test_same_site_paths_are_kept_as_next(target: str) -> None:
    assert safe_next(target, "/home") == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "https://evil.example/app",
        "javascript:x",
        "app",
        "/a\r\nSet-Cookie: x=1",
        "/\t/evil.example",
        "/" + "a" * 600,
    ],
)
def test_anything_else_falls_back_to_the_default(target: str | None) -> None:
    assert safe_next(target, "/home") == "/home"
