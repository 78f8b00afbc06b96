"""Interoperability with pyMDOC-CBOR (pymdoccbor), both ways.

pymdoccbor's verifier checks signatures and digests but no validity dates, so agreement is
expected on well-formed, current credentials; on expired ones only eDL refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pymdoccbor.mdoc.issuer import MdocCborIssuer
from pymdoccbor.mdoc.verifier import MdocCbor
from tests.unit.credentials.builders import Pki, issue, make_pki

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, ErrorCode, device_response, verify_mdoc
from edl.credentials.cose import cose_key

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki(at=NOW)


def _pymdoccbor_issue(pki: Pki, data: dict[str, dict[str, object]]) -> bytes:
    """An mdoc written by pymdoccbor, signed with our DS key and carrying our DS certificate."""
    d = pki.ds_key.private_numbers().private_value.to_bytes(32, "big")
    issuer = MdocCborIssuer(
        private_key={"KTY": "EC2", "CURVE": "P_256", "ALG": "ES256", "D": d, "KID": b"edl-ds"}, alg="ES256"
    )
    issuer.new(
        data=data,
        doctype=MDL_DOCTYPE,
        validity={
            "issuance_date": NOW.date().isoformat(),
            "expiry_date": (NOW + timedelta(days=30)).date().isoformat(),
        },
        devicekeyinfo=cose_key(ec.generate_private_key(ec.SECP256R1()).public_key()),
        x509_chain=[pki.ds],
    )
    dumped: bytes = issuer.dump()
    return dumped


PYMDOC_DATA: dict[str, dict[str, object]] = {
    MDL_NAMESPACE: {
        "family_name": "张",
        "given_name": "三",
        "birth_date": "1990-05-17",  # pymdoccbor tags these names as full-date (1004) itself
        "issue_date": "2021-03-01",
        "expiry_date": "2031-03-01",
        "document_number": "120101199005171234",
        "age_over_18": True,
    }
}


def test_edl_issued_mdoc_passes_pymdoccbor_verifier(pki: Pki) -> None:
    response = device_response([(MDL_DOCTYPE, issue(pki, at=NOW))])
    mdoc = MdocCbor()
    mdoc.loads(response)
    assert mdoc.verify(trusted_root_certs=[pki.root]) is True
    assert mdoc.documents_invalid == []
    assert mdoc.disclosure_map[MDL_NAMESPACE]["family_name"] == "张"


def test_edl_mdoc_tampered_fails_pymdoccbor_too(pki: Pki) -> None:
    response = bytearray(device_response([(MDL_DOCTYPE, issue(pki, at=NOW))]))
    index = response.index("张".encode())
    response[index + 2] ^= 0x01  # 张 -> another character
    mdoc = MdocCbor()
    mdoc.loads(bytes(response))
    assert mdoc.verify(trusted_root_certs=[pki.root]) is False


def test_pymdoccbor_issued_mdoc_passes_edl_verifier(pki: Pki) -> None:
    result = verify_mdoc(_pymdoccbor_issue(pki, PYMDOC_DATA), [pki.root], at=datetime.now(UTC))
    assert result.valid, result.errors
    claims = result.claims[MDL_NAMESPACE]
    assert claims["family_name"] == "张"
    assert claims["birth_date"].isoformat() == "1990-05-17"  # type: ignore[attr-defined]
    assert claims["age_over_18"] is True


def test_pymdoccbor_issued_mdoc_is_refused_under_another_root(pki: Pki) -> None:
    other = make_pki(at=NOW, common_name="Other IACA")
    result = verify_mdoc(_pymdoccbor_issue(pki, PYMDOC_DATA), [other.root], at=datetime.now(UTC))
    assert {e.code for e in result.errors} == {ErrorCode.CHAIN_UNTRUSTED}


def test_edl_refuses_what_pymdoccbor_does_not_check(pki: Pki) -> None:
    """Past its validUntil pymdoccbor still says True (it checks no MSO dates); eDL says expired."""
    issued = _pymdoccbor_issue(pki, PYMDOC_DATA)
    later = NOW + timedelta(days=40)
    mdoc = MdocCbor()
    mdoc.loads(issued)
    assert mdoc.verify() is True
    assert ErrorCode.EXPIRED in {e.code for e in verify_mdoc(issued, [pki.root], at=later).errors}
