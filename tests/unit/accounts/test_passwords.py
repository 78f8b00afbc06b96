"""Staff password hashes: scrypt with the documented parameters, verified only by the right password."""

from __future__ import annotations

import base64
import re

import pytest

from edl.accounts import InvalidStaffInput
from edl.accounts.passwords import (
    DUMMY_HASH,
    check_password_rules,
    generate_password,
    hash_password,
    password_matches,
)


def test_hash_has_the_stored_format_and_a_fresh_salt() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert re.fullmatch(r"scrypt\$16384\$8\$1\$[^$]+\$[^$]+", first)
    salt, digest = first.split("$")[4:]
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert first != second


def test_only_the_right_password_matches() -> None:
    stored = hash_password("correct horse battery")
    assert password_matches("correct horse battery", stored)
    assert not password_matches("correct horse batterY", stored)
    assert not password_matches("", stored)


@pytest.mark.parametrize(
    "stored", ["", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA==$AA==", "scrypt$16384$8$1$!!$!!"]
)
def test_malformed_stored_hashes_match_nothing(stored: str) -> None:
    assert not password_matches("anything at all", stored)


def test_the_dummy_hash_matches_nothing() -> None:
    assert not password_matches("", DUMMY_HASH) and not password_matches("correct horse battery", DUMMY_HASH)


def test_generated_passwords_are_long_random_and_unambiguous() -> None:
    made = {generate_password() for _ in range(50)}
    assert len(made) == 50
    for p in made:
        assert re.fullmatch(r"[a-zA-Z2-9]{5}(-[a-zA-Z2-9]{5}){3}", p) and not set("0O1lI") & set(p)
        check_password_rules(p)


def test_short_and_huge_passwords_are_refused() -> None:
    with pytest.raises(InvalidStaffInput, match="at least 12"):
        check_password_rules("short")
    with pytest.raises(InvalidStaffInput, match="at most 256"):
        check_password_rules("x" * 257)
