"""Fixtures of the credential tests: one in-memory PKI per module (key generation is the slow part)."""

from __future__ import annotations

import pytest

from tests.unit.credentials.builders import Pki, make_pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def other_pki() -> Pki:
    """A second, unrelated authority (its root must not vouch for `pki`'s credentials)."""
    return make_pki(common_name="Other IACA")
