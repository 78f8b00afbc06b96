"""Credential throughput: eDL issue/verify beside raw ECDSA P-256 and beside pymdoccbor.

A plain script: it prints its figures and asserts nothing about timings.

    .venv/bin/python bench/credential.py [--seconds 1.0]

The credential is an mDL with 15 data elements and a ~20 KB portrait (random bytes in a JPEG
wrapper), in a DeviceResponse. The figures are measured in interleaved rounds (each round runs every
figure for about `--seconds`, so drift in the machine's speed hits all alike) and the median of
`--rounds` rounds is printed; the ratios to raw ECDSA verify are of those medians.

eDL verify is measured two ways:

* warm: one long-lived verifier (the trust roots as a list, as callers pass them) checking a
  stream of distinct credentials of the same document signer: the steady state of a reader.
  Its caches (DS certificate parse, chain validation) are hit; nothing about a credential itself
  is cached, and the credentials differ (salts, device keys, signatures) so none could be.
* cold: every call starts from nothing: certificate and header caches cleared and a new
  `TrustStore` (no validated chains), so the DS chain is parsed and path-validated each time.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import logging
import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, device_response, issue_mdoc, verify_mdoc
from edl.credentials.cose import cose_key
from edl.pki import AuthorityProfile, PrivateKeySigner, TrustStore, key_id_of
from edl.pki.profiles import ds_builder, iaca_builder

NOW = datetime.now(UTC).replace(microsecond=0)
DISTINCT_CREDENTIALS = 64


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` over about `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(10):
            fn()
        count += 10
    return count / elapsed


def median_rates(functions: dict[str, Callable[[], object]], seconds: float, rounds: int) -> dict[str, float]:
    """The median over `rounds` interleaved rounds of each function's calls per second (one warm-up call each)."""
    for fn in functions.values():
        fn()
    rates: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            rates[name].append(rate(fn, seconds))
    return {name: statistics.median(values) for name, values in rates.items()}


def make_pki() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate]:
    profile = AuthorityProfile()
    start = NOW - timedelta(days=1)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = iaca_builder(root_key.public_key(), profile, start).sign(root_key, hashes.SHA256())
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds = ds_builder(ds_key.public_key(), root, profile, start, "1").sign(root_key, hashes.SHA256())
    return root, ds_key, ds


def mdl_elements() -> dict[str, object]:
    portrait = b"\xff\xd8\xff\xe0" + os.urandom(20_000 - 6) + b"\xff\xd9"
    return {
        "family_name": "张",
        "given_name": "三",
        "birth_date": date(1990, 5, 17),
        "issue_date": date(2021, 3, 1),
        "expiry_date": date(2031, 3, 1),
        "issuing_country": "CN",
        "issuing_authority": "天津市公安局交通警察总队",
        "document_number": "120101199005171234",
        "portrait": portrait,
        "driving_privileges": [
            {"vehicle_category_code": "C1", "issue_date": date(2015, 3, 1), "expiry_date": date(2031, 3, 1)}
        ],
        "un_distinguishing_sign": "CHN",
        "sex": 1,
        "age_over_18": True,
        "nationality": "CN",
        "resident_address": "天津市和平区南京路100号",
    }


def as_pymdoccbor_data(elements: dict[str, object]) -> dict[str, object]:
    """The same data as pymdoccbor takes it: dates as ISO strings (it tags them 1004 by name)."""

    def plain(value: object) -> object:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in elements.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one figure in one round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (the median is printed)")
    args = parser.parse_args()
    seconds, rounds = args.seconds, args.rounds
    logging.getLogger("pymdoccbor").setLevel(logging.ERROR)

    root, ds_key, ds = make_pki()
    signer = PrivateKeySigner(ds_key, [ds], key_id_of(ds))
    device_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    elements = mdl_elements()
    namespaces = {MDL_NAMESPACE: elements}

    def edl_issue(holder_key: ec.EllipticCurvePublicKey = device_key) -> bytes:
        issued = issue_mdoc(
            MDL_DOCTYPE,
            namespaces,
            signer,
            holder_key,
            valid_from=NOW,
            valid_until=NOW + timedelta(days=30),
            signed_at=NOW,
        )
        return device_response([(MDL_DOCTYPE, issued)])

    response = edl_issue()
    roots = [root]
    store = TrustStore(roots)  # (a verifier keeps its store: it owns the caches)
    assert verify_mdoc(response, store, at=NOW).valid
    # Distinct credentials of the same signer (each with its own salts, device key and signature).
    responses = [edl_issue(ec.generate_private_key(ec.SECP256R1()).public_key()) for _ in range(DISTINCT_CREDENTIALS)]
    assert len(set(responses)) == DISTINCT_CREDENTIALS
    assert all(verify_mdoc(r, store, at=NOW).valid for r in responses)
    next_response = itertools.cycle(responses).__next__

    def edl_verify_warm() -> bool:
        return verify_mdoc(next_response(), store, at=NOW).valid

    def edl_verify_cold() -> bool:  # (a new store owns new, empty caches)
        return verify_mdoc(next_response(), TrustStore(roots), at=NOW).valid

    assert edl_verify_warm() and edl_verify_cold()

    message = os.urandom(1024)
    der_signature = ds_key.sign(message, ec.ECDSA(hashes.SHA256()))
    public_key = ds_key.public_key()

    timed: dict[str, Callable[[], object]] = {
        "raw ECDSA P-256 sign": lambda: ds_key.sign(message, ec.ECDSA(hashes.SHA256())),
        "raw ECDSA P-256 verify": lambda: public_key.verify(der_signature, message, ec.ECDSA(hashes.SHA256())),
        "eDL issue": edl_issue,
        "eDL verify (warm)": edl_verify_warm,
        "eDL verify (cold)": edl_verify_cold,
    }

    try:
        from pymdoccbor.mdoc.issuer import MdocCborIssuer
        from pymdoccbor.mdoc.verifier import MdocCbor
    except ImportError:
        MdocCborIssuer = MdocCbor = None

    if MdocCborIssuer is not None and MdocCbor is not None:
        d = ds_key.private_numbers().private_value.to_bytes(32, "big")
        private_key = {"KTY": "EC2", "CURVE": "P_256", "ALG": "ES256", "D": d, "KID": b"bench"}
        pym_data = {MDL_NAMESPACE: as_pymdoccbor_data(elements)}
        validity = {
            "issuance_date": NOW.date().isoformat(),
            "expiry_date": (NOW + timedelta(days=30)).date().isoformat(),
        }
        pym_device_key = cose_key(device_key)

        def pym_issue() -> bytes:
            issuer = MdocCborIssuer(private_key=private_key, alg="ES256")
            issuer.new(
                data=copy.deepcopy(pym_data),  # pymdoccbor wraps dates in place: give it a fresh copy
                doctype=MDL_DOCTYPE,
                validity=validity,
                devicekeyinfo=pym_device_key,
                x509_chain=[ds],
            )
            dumped: bytes = issuer.dump()
            return dumped

        def pym_verify() -> bool:
            mdoc = MdocCbor()
            mdoc.loads(response)
            ok: bool = mdoc.verify(trusted_root_certs=[root])
            return ok

        assert pym_verify()
        assert verify_mdoc(pym_issue(), [root], at=NOW + timedelta(seconds=5)).valid
        timed["pymdoccbor issue"] = pym_issue
        timed["pymdoccbor verify"] = pym_verify

    figures = median_rates(timed, seconds, rounds)

    portrait = elements["portrait"]
    assert isinstance(portrait, bytes)
    print(f"mDL: {len(elements)} elements, portrait {len(portrait)} bytes, DeviceResponse {len(response)} bytes")
    print(f"median of {rounds} interleaved rounds of {seconds} s per figure")
    for name, value in figures.items():
        print(f"{name:24s} {value:10.0f} /s  {1e6 / value:8.1f} us")
    raw_verify = figures["raw ECDSA P-256 verify"]
    for kind in ("warm", "cold"):
        print(f"eDL verify ({kind}) / raw ECDSA verify: {figures[f'eDL verify ({kind})'] / raw_verify:.0%}")
    if "pymdoccbor issue" in figures:
        print(f"eDL issue  / pymdoccbor issue:  {figures['eDL issue'] / figures['pymdoccbor issue']:.1f}x")
        for kind in ("warm", "cold"):
            share = figures[f"eDL verify ({kind})"] / figures["pymdoccbor verify"]
            print(f"eDL verify ({kind}) / pymdoccbor verify: {share:.1f}x")


if __name__ == "__main__":
    main()
