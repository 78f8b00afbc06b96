"""The OpenID4VCI core in memory (`edl.credentials.openid4vci`): c_nonces, key proofs, credential requests, offers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey

from edl.credentials.openid4vci import (
    NONCE_SECONDS,
    PRE_AUTHORIZED_GRANT,
    PROOF_TYPE,
    CredentialRequestRefused,
    ProofRefused,
    check_proof,
    credential_offer,
    make_nonce,
    nonce_issued_at,
    offer_uri,
    read_credential_request,
)

NOW = datetime(2026, 12, 4, 4, 0, tzinfo=UTC)
ISSUER = "https://edl.example"
KEY = b"k" * 32


def _proof(key: ec.EllipticCurvePrivateKey, **claims: object) -> str:
    jwk = ECKey.import_key(key.public_key()).as_dict()
    body = {"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "n", **claims}
    header = {"alg": "ES256", "typ": PROOF_TYPE, "jwk": jwk}
    return jws.serialize_compact(header, json.dumps(body).encode(), ECKey.import_key(key), algorithms=["ES256"])


def test_a_nonce_is_accepted_while_fresh_and_only_as_made() -> None:
    nonce = make_nonce(KEY, NOW)
    assert nonce_issued_at(KEY, nonce, NOW + timedelta(seconds=NONCE_SECONDS)) == int(NOW.timestamp())
    assert nonce_issued_at(KEY, nonce, NOW + timedelta(seconds=NONCE_SECONDS + 1)) is None
    assert nonce_issued_at(b"x" * 32, nonce, NOW) is None  # another server's secret
    prefix, issued, salt, mac = nonce.split(".")
    assert nonce_issued_at(KEY, f"{prefix}.{int(issued) + 1}.{salt}.{mac}", NOW) is None  # a moved issue time
    assert nonce_issued_at(KEY, 42, NOW) is None and make_nonce(KEY, NOW) != nonce


def test_a_good_proof_gives_its_key_and_nonce() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    proof = check_proof(_proof(key), audience=ISSUER, at=NOW)
    assert proof.nonce == "n" and proof.key.public_numbers() == key.public_key().public_numbers()
    assert check_proof(_proof(key, aud=[ISSUER]), audience=ISSUER, at=NOW).nonce == "n"


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"aud": "https://other.example"}, "invalid_proof"),
        ({"iat": int((NOW - timedelta(seconds=121)).timestamp())}, "invalid_proof"),
        ({"iat": int((NOW + timedelta(seconds=61)).timestamp())}, "invalid_proof"),
        ({"iat": "now"}, "invalid_proof"),
        ({"nonce": ""}, "invalid_nonce"),
    ],
)
def test_proof_claims_are_checked(claims: dict[str, object], code: str) -> None:
    with pytest.raises(ProofRefused) as refused:
        check_proof(_proof(ec.generate_private_key(ec.SECP256R1()), **claims), audience=ISSUER, at=NOW)
    assert refused.value.code == code


@pytest.mark.parametrize("junk", [None, "", "a.b", "a.b.c", "x" * 5000, "e30.e30.", 7])
def test_junk_is_not_a_proof(junk: object) -> None:
    with pytest.raises(ProofRefused) as refused:
        check_proof(junk, audience=ISSUER, at=NOW)
    assert refused.value.code == "invalid_proof"


def test_a_credential_request_has_one_jwt_proof_for_the_mdl() -> None:
    assert (
        read_credential_request({"credential_configuration_id": "org.iso.18013.5.1.mDL", "proofs": {"jwt": ["p"]}})
        == "p"
    )
    for body, code in [
        ({"credential_configuration_id": "x", "proofs": {"jwt": ["p"]}}, "unknown_credential_configuration"),
        ({"credential_configuration_id": "org.iso.18013.5.1.mDL", "proofs": {"jwt": []}}, "invalid_credential_request"),
        (
            {"credential_configuration_id": "org.iso.18013.5.1.mDL", "proofs": {"di_vp": ["p"]}},
            "invalid_credential_request",
        ),
        ({"credential_configuration_id": "org.iso.18013.5.1.mDL", "proofs": {"jwt": [1]}}, "invalid_proof"),
        ({"credential_response_encryption": {}}, "invalid_encryption_parameters"),
    ]:
        with pytest.raises(CredentialRequestRefused) as refused:
            read_credential_request(body)
        assert refused.value.code == code, body


def test_the_offer_uri_carries_the_offer_by_value() -> None:
    offer = credential_offer(ISSUER, "code-1")
    uri = offer_uri(offer)
    assert uri.startswith("openid-credential-offer://?credential_offer=%7B")
    assert json.loads(parse_qs(urlsplit(uri).query)["credential_offer"][0]) == offer
    assert offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"] == "code-1"
