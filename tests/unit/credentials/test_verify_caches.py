"""What verification caches may and may not do: a cache hit never turns a refusal into an acceptance.

Cached across calls, in the owner passed in (a `VerificationCache`, by default the one of the `TrustStore`):
parsed DS certificates and their keys (by exact DER bytes), protected headers (by exact bytes), and, per
`TrustStore`, chains that passed path validation (by exact DER bytes). The validity period of every certificate is
still checked at each call's own time. Each test makes its own stores, so it starts cold.
"""

from __future__ import annotations

from datetime import timedelta

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edl.credentials import MDL_DOCTYPE, ErrorCode, issue_mdoc, verify_mdoc
from edl.credentials.cache import VerificationCache
from edl.pki import TrustStore, trust_store
from edl.pki.profiles import key_id_of
from tests.unit.credentials.builders import NOW, Pki, issue, make_pki, reissue, resign


def codes(result: object) -> set[str]:
    return {e.code for e in result.errors}  # type: ignore[attr-defined]


def test_a_cached_chain_is_refused_after_the_signer_certificate_expires(pki: Pki) -> None:
    store = TrustStore([pki.root])
    issued = issue(pki, days=1)
    assert verify_mdoc(issued, store, at=NOW).valid  # validated and cached ...
    expired = verify_mdoc(issued, store, at=pki.ds.not_valid_after_utc + timedelta(seconds=1))
    assert ErrorCode.CERTIFICATE_EXPIRED in codes(expired)  # ... but its time is checked again
    assert not expired.valid and expired.claims == {}
    early = verify_mdoc(issued, store, at=pki.ds.not_valid_before_utc - timedelta(seconds=1))
    assert ErrorCode.CERTIFICATE_NOT_YET_VALID in codes(early)
    assert verify_mdoc(issued, store, at=NOW).valid  # and the cache still serves the valid time


def test_a_cached_chain_is_refused_once_the_root_has_expired() -> None:
    pki = make_pki()
    # A DS certificate that outlives its root: validated and cached while the root is valid ...
    outliving = reissue(pki.ds, pki.root, pki.root_key, not_after=pki.root.not_valid_after_utc + timedelta(days=30))
    der = outliving.public_bytes(serialization.Encoding.DER)
    issued = resign(issue(pki, days=1), pki.ds_key, unprotected=lambda h: h.update({33: der}))
    store = TrustStore([pki.root])
    assert verify_mdoc(issued, store, at=NOW).valid
    # ... then presented after the root expired (the DS itself still valid): untrusted.
    after_root = pki.root.not_valid_after_utc + timedelta(days=1)
    assert ErrorCode.CHAIN_UNTRUSTED in codes(verify_mdoc(issued, store, at=after_root))
    assert verify_mdoc(issued, store, at=NOW).valid


def test_a_look_alike_signer_is_refused_after_the_real_one_was_cached(pki: Pki) -> None:
    """Same subject, issuer name, serial, key and kid as the cached DS; only its issuer's key differs."""
    store = TrustStore([pki.root])
    assert verify_mdoc(issue(pki), store, at=NOW).valid
    forger_key = ec.generate_private_key(ec.SECP256R1())
    forger_root = reissue(pki.root, pki.root, forger_key, public_key=forger_key.public_key())
    assert forger_root.subject == pki.root.subject
    look_alike = reissue(pki.ds, forger_root, forger_key)
    assert look_alike.subject == pki.ds.subject and look_alike.issuer == pki.ds.issuer
    assert look_alike.serial_number == pki.ds.serial_number
    assert key_id_of(look_alike) == key_id_of(pki.ds)
    assert look_alike != pki.ds
    issued = issue(Pki(pki.root, pki.root_key, look_alike, pki.ds_key))
    result = verify_mdoc(issued, store, at=NOW)
    assert codes(result) == {ErrorCode.CHAIN_UNTRUSTED}
    assert result.claims == {}
    assert verify_mdoc(issue(pki), store, at=NOW).valid  # the real signer is still accepted


def test_a_store_never_uses_another_stores_cached_chain(pki: Pki, other_pki: Pki) -> None:
    issued = issue(pki)
    trusting, other = TrustStore([pki.root]), TrustStore([other_pki.root])
    assert verify_mdoc(issued, trusting, at=NOW).valid
    assert codes(verify_mdoc(issued, other, at=NOW)) == {ErrorCode.CHAIN_UNTRUSTED}
    # The same through root lists (each list of roots gets a new store).
    assert verify_mdoc(issued, [pki.root], at=NOW).valid
    assert codes(verify_mdoc(issued, [other_pki.root], at=NOW)) == {ErrorCode.CHAIN_UNTRUSTED}
    assert trust_store([pki.root]) is not trust_store([other_pki.root])
    # ... and a cache shared by both stores never lends one store's chain to the other.
    shared = VerificationCache()
    assert verify_mdoc(issued, trusting, at=NOW, cache=shared).valid
    assert codes(verify_mdoc(issued, other, at=NOW, cache=shared)) == {ErrorCode.CHAIN_UNTRUSTED}


def test_untrusted_results_are_not_cached(pki: Pki, other_pki: Pki) -> None:
    issued = issue(pki)
    store = TrustStore([other_pki.root])
    for _ in range(2):
        assert codes(verify_mdoc(issued, store, at=NOW)) == {ErrorCode.CHAIN_UNTRUSTED}


def test_every_tampered_signature_is_refused_with_a_warm_cache(pki: Pki) -> None:
    store = TrustStore([pki.root])
    issued = issue(pki)
    assert verify_mdoc(issued, store, at=NOW).valid
    doc = cbor2.loads(issued)
    for index in range(len(doc["issuerAuth"][3])):
        signature = bytearray(doc["issuerAuth"][3])
        signature[index] ^= 0x80
        doc["issuerAuth"][3] = bytes(signature)
        assert codes(verify_mdoc(cbor2.dumps(doc), store, at=NOW)) == {ErrorCode.SIGNATURE_INVALID}


def test_a_cached_protected_header_is_only_reused_for_the_same_bytes(pki: Pki) -> None:
    issued = issue(pki)
    store = TrustStore([pki.root])
    assert verify_mdoc(issued, store, at=NOW).valid  # caches the header {1: -7}
    assert VerificationCache.of(store).protected  # (in the store's own cache)
    es384 = resign(issued, pki.ds_key, protected=cbor2.dumps({1: -35}))
    assert codes(verify_mdoc(es384, store, at=NOW)) == {ErrorCode.UNSUPPORTED_ALGORITHM}
    assert verify_mdoc(issued, store, at=NOW).valid


def test_a_cache_passed_in_is_the_one_used(pki: Pki) -> None:
    issued = issue(pki)
    store, mine = TrustStore([pki.root]), VerificationCache()
    assert verify_mdoc(issued, store, at=NOW, cache=mine).valid
    assert mine.certificates and mine.signers and mine.protected
    assert not VerificationCache.of(store).certificates  # (the store's own cache was not touched)
    assert VerificationCache.of(store) is VerificationCache.of(store)
    assert VerificationCache.of(TrustStore([pki.root])) is not VerificationCache.of(store)


def test_device_key_is_the_issued_one_built_on_demand(pki: Pki) -> None:
    device = ec.generate_private_key(ec.SECP256R1())
    issued = issue_mdoc(
        MDL_DOCTYPE,
        {"org.iso.18013.5.1": {"family_name": "李"}},
        pki.signer,
        device.public_key(),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=1),
        signed_at=NOW,
    )
    document = verify_mdoc(issued, [pki.root], at=NOW).documents[0]
    assert document.device_key is not None
    assert document.device_key.public_numbers() == device.public_key().public_numbers()
    refused = verify_mdoc(issued, [make_pki().root], at=NOW).documents[0]
    assert refused.device_key is None
