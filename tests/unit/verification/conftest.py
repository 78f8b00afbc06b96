"""Fixtures of the verification tests: the credential tests' in-memory PKI."""

from __future__ import annotations

import pytest

from tests.unit.credentials.builders import Pki, make_pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def other_pki() -> Pki:
    return make_pki(common_name="Other IACA")
