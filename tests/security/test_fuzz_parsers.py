"""Hostile input to every parser of outside input changes nothing: a bounded fuzz of each one (hypothesis).

The parsers: the mdoc verifier (`verify_mdoc`, and `read_mdoc_file` of `edl verify --mdoc`), the 亮码 verifier
(`verify_code`), the status-list token and trust-bundle verifiers and their claim parsers, the registry file reader
and row parser, and the image readers (`check_photo` of uploads, `decode_image` of the verifier page). Each gets
arbitrary bytes or text, a genuine input with a few bytes flipped, cut, inserted or deleted, and structure-aware
CBOR built by recursive strategies (some of it signed with the genuine key, so the checks behind the signature are
reached). The property is always the same: the call returns its result or raises the refusal it documents
(`PhotoRejected`, `RowRejected`, `ImportRefused`, `TrustBundleError`, `ValueError` where that is the contract);
anything else fails, and a mutated genuine credential never verifies. `verify_mdoc` and `verify_code` turn any
exception into a refusal "unexpected error while verifying: <type>": that message fails here as a crash would.

Budget: `budget(n)` examples per test, derandomized (the same inputs every run), about 20 s in all on 2 cores.
`EDL_FUZZ_SCALE=20` runs twenty times as many, with fresh random inputs (a longer local run). With `pytest -s` the
module prints the inputs tried and the time of each parser; docs/security.md has the figures.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import os
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import base45
import cbor2
import pytest
import segno
from cbor2 import CBORSimpleValue, CBORTag
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from edl.applications.photo_rules import CheckedPhoto, PhotoRejected
from edl.applications.photos import check_photo
from edl.credentials import MDL_DOCTYPE, MDL_NAMESPACE, verify_mdoc
from edl.credentials.cose import sig_structure
from edl.credentials.livecode import CodeClaims, kid_of, make_code, verify_code
from edl.credentials.service_object import sign_service_object
from edl.credentials.statuslist import (
    TYP as STATUS_TYP,
)
from edl.credentials.statuslist import (
    build_status_list_token,
    parse_status_list_claims,
    verify_status_list_token,
)
from edl.credentials.trustbundle import TYP as TRUST_TYP
from edl.credentials.trustbundle import (
    TrustBundleError,
    build_trust_bundle,
    parse_bundle_payload,
    verify_trust_bundle,
)
from edl.pki import Authority
from edl.registry.files import RegistryFile
from edl.registry.formats import COLUMNS, ImportRefused, RowParser, RowRejected
from tests.faces import id_photo, png
from tests.unit.credentials.builders import Pki, make_pki, mdl_namespaces, resign, response
from tests.unit.registry.factories import TODAY, row

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
AT = NOW + timedelta(minutes=1)
URI = "https://edl.example/status-lists/1"
SCALE = max(1, int(os.environ.get("EDL_FUZZ_SCALE", "1")))
UNEXPECTED = "unexpected error"


def budget(examples: int) -> settings:
    """`examples` inputs (times EDL_FUZZ_SCALE), no deadline, the same inputs every run unless scaled up."""
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=SCALE == 1,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# --- the tally: inputs and time per parser, printed with -s --------------------------------------------------------


@dataclass
class Tally:
    rows: dict[str, list[float]] = field(default_factory=dict)

    def report(self) -> str:
        width = max((len(n) for n in self.rows), default=10)
        lines = [f"{'fuzz test':<{width}}  inputs  wall s   cpu s"]
        for name, (inputs, wall, cpu) in self.rows.items():
            lines.append(f"{name:<{width}}  {int(inputs):>6}  {wall:6.2f}  {cpu:6.2f}")
        totals = [sum(r[i] for r in self.rows.values()) for i in range(3)]
        lines.append(f"{'total':<{width}}  {int(totals[0]):>6}  {totals[1]:6.2f}  {totals[2]:6.2f}")
        return "\n".join(lines)


@dataclass
class Counter:
    inputs: int = 0

    def __call__(self) -> None:
        self.inputs += 1


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    t = Tally()
    yield t
    print(f"\n{t.report()}")


@pytest.fixture
def tried(request: pytest.FixtureRequest, tally: Tally) -> Iterator[Counter]:
    """Count the inputs a test tries (call it once per input) and time the whole test (wall clock, and this
    process's CPU time, which a busy machine does not inflate)."""
    counter = Counter()
    start, cpu = time.perf_counter(), time.process_time()
    yield counter
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    tally.rows[request.node.name.removeprefix("test_")] = [counter.inputs, wall, cpu]


# --- strategies ----------------------------------------------------------------------------------------------------


KINDS = ("flip", "set", "insert", "delete", "truncate", "duplicate")


@dataclass(frozen=True)
class Edits:
    """1-4 edits of a genuine input: a bit flipped, a byte set, bytes inserted, deleted or duplicated, or the end cut
    off. Each is (kind, position, amount, bytes); positions count modulo the input's length, so one `Edits` fits any
    input. With `head`, odd positions fall in the first `head` bytes (the headers of an image)."""

    ops: tuple[tuple[str, int, int, bytes], ...]

    def __call__(self, data: bytes, *, head: int = 0) -> bytes:
        out = bytearray(data)
        for kind, position, amount, blob in self.ops:
            if not out:
                out.extend(blob)
                continue
            span = min(head + 1, len(out)) if head and position & 1 else len(out)
            i = (position >> 1) % span
            if kind == "flip":
                out[i] ^= 1 << (amount % 8)
            elif kind == "set":
                out[i] = amount
            elif kind == "insert":
                out[i:i] = blob
            elif kind == "delete":
                del out[i : i + 1 + amount % 16]
            elif kind == "truncate":
                del out[i:]
            else:
                j = amount * 7919 % len(out)
                out[i:i] = out[j : j + 1 + amount % 32]
        return bytes(out)


@dataclass(frozen=True)
class FlipAfter:
    """A kept regression input: flip `bit` of the byte `offset` after the first `anchor` of the genuine input."""

    anchor: bytes
    offset: int
    bit: int

    def __call__(self, data: bytes, *, head: int = 0) -> bytes:
        out = bytearray(data)
        out[data.index(self.anchor) + self.offset] ^= 1 << self.bit
        return bytes(out)


edits = st.builds(
    Edits,
    st.lists(
        st.tuples(
            st.sampled_from(KINDS), st.integers(0, 2**24), st.integers(0, 255), st.binary(min_size=1, max_size=8)
        ),
        min_size=1,
        max_size=4,
    ).map(tuple),
)


def mutated(data: bytes, *, head: int = 0) -> st.SearchStrategy[bytes]:
    """`data` after `edits`."""
    return edits.map(lambda e: e(data, head=head))


# Regression inputs found by the fuzz below: one bit of the document signer's certificate, in its subject name (an
# unknown string tag), its key algorithm or its public key, made the certificate's lazily parsed fields raise
# ValueError, TypeError or UnsupportedAlgorithm inside `verify_mdoc` / `verify_code` (caught only by their last-resort
# handler, as "unexpected error while verifying").
SIGNER_NAME_TAG = FlipAfter(b"\x0c\x15eDL Document Signer 1", 0, 1)
SIGNER_KEY_ALGORITHM = FlipAfter(b"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01", 8, 1)
SIGNER_PUBLIC_KEY = FlipAfter(b"\x03\x42\x00\x04", 10, 0)


MDOC_WORDS = (
    "1.0",
    MDL_DOCTYPE,
    MDL_NAMESPACE,
    "SHA-256",
    "SHA-512",
    "version",
    "documents",
    "status",
    "docType",
    "issuerSigned",
    "deviceSigned",
    "nameSpaces",
    "issuerAuth",
    "digestAlgorithm",
    "valueDigests",
    "deviceKeyInfo",
    "deviceKey",
    "validityInfo",
    "signed",
    "validFrom",
    "validUntil",
    "digestID",
    "random",
    "elementIdentifier",
    "elementValue",
    "family_name",
    "portrait",
    "issuing_country",
    "driving_privileges",
    "eid",
    "cls",
    "st",
    "sli",
    "vu",
    "bits",
    "lst",
    "uri",
    "root",
    "signers",
    "certificate",
    "kid",
    "not_before",
    "not_after",
    "iat",
    "max_age",
    "status_list",
    "2026-11-25T02:00:00Z",
    "2026-11-25",
    "",
)
"""Words the parsers look for, so that generated maps often have the right keys and values."""

cbor_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64 - 1),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=40),
    st.text(max_size=20),
    st.sampled_from(MDOC_WORDS),
    st.sampled_from((0, 1, 2, 4, 6, 7, 16, 33, -7, -35, -36, 65533, 65534, 1700000000, 253402300800)),
    st.builds(CBORSimpleValue, st.integers(0, 19) | st.integers(32, 255)),
    st.just(cbor2.undefined),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
)
cbor_keys = st.one_of(st.sampled_from(MDOC_WORDS), st.integers(-40, 70), st.text(max_size=8), st.binary(max_size=4))
TAGS = (0, 1, 2, 3, 4, 18, 24, 33, 55799, 258, 1004, 1005, 2**63)


def _embedded(value: Any) -> CBORTag:
    return CBORTag(24, cbor2.dumps(value))


def _cbor_branches(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(cbor_keys, children, max_size=6),
        st.builds(CBORTag, st.sampled_from(TAGS), children),
        children.map(_embedded),
    )


cbor_values = st.recursive(cbor_leaves, _cbor_branches, max_leaves=10)
"""Any CBOR data item: the leaves and words above in arrays, maps, tags and embedded CBOR (tag 24)."""


def dumps(value: Any) -> bytes:
    return cbor2.dumps(value)


# --- shared genuine inputs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Genuine:
    """Genuine credentials and tokens made with real keys, and what verifies them."""

    pki: Pki
    mdoc: bytes
    code: str
    chained_code: str
    """The code with its signer's certificate in the unprotected header (x5chain)."""
    authority: Authority
    status_list: bytes
    bundle: bytes


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> Genuine:
    pki = make_pki(NOW - timedelta(days=1))
    mdoc = response(pki, namespaces=mdl_namespaces(portrait_size=300), at=NOW - timedelta(hours=1))
    claims = CodeClaims(
        uuid.uuid4().hex, ("A2", "D"), "AH", 7, date(2031, 1, 1), NOW, NOW + timedelta(seconds=180), b"\1" * 8
    )
    code = make_code(claims, pki.signer)
    chained_code = make_code(claims, pki.signer, with_chain=True)
    authority = Authority.open(tmp_path_factory.mktemp("fuzz") / "data")
    authority.init(at=NOW - timedelta(days=2))
    status_list = build_status_list_token(
        [0, 1, 2, 0] * 16,
        uri=URI,
        signer=authority.service_signer("status-list", NOW - timedelta(days=1)),
        iat=NOW,
        exp=NOW + timedelta(hours=24),
        ttl=300,
    )
    bundle = build_trust_bundle(
        version=3,
        root=authority.root_certificate(),
        signers=[r.certificate for r in authority.signers()],
        status_list_uri=URI,
        signer=authority.service_signer("trust-list", NOW - timedelta(days=1)),
        iat=NOW,
    )
    made = Genuine(pki, mdoc, code, chained_code, authority, status_list, bundle)
    assert verify_mdoc(mdoc, [pki.root], at=AT).valid
    assert verify_code(code, [pki.root], [pki.ds], at=AT).valid
    assert verify_code(chained_code, [pki.root], [], at=AT).valid
    assert verify_status_list_token(status_list, [authority.root_certificate()], at=AT).valid
    verify_trust_bundle(bundle, authority.root_certificate(), at=AT)
    return made


def _no_crash(errors: Any) -> None:
    messages = [e.message for e in errors]
    assert not any(UNEXPECTED in m for m in messages), messages


# --- mdoc (ISO/IEC 18013-5 DeviceResponse / IssuerSigned) ----------------------------------------------------------


def _refused_mdoc(genuine: Genuine, data: bytes) -> None:
    result = verify_mdoc(data, [genuine.pki.root], at=AT)
    _no_crash(result.errors)
    assert not result.valid


@budget(200)
@given(data=st.binary(max_size=3000))
@example(data=b"\x9f" * 5000)  # indefinite-length arrays, deeper than the decoder's limit
@example(data=b"\x81" * 5000)
@example(data=b"\xd8\x18\x41\x00")  # tag 24 around one byte
def test_mdoc_from_arbitrary_bytes_is_refused(genuine: Genuine, tried: Counter, data: bytes) -> None:
    tried()
    _refused_mdoc(genuine, data)


@budget(200)
@given(edit=edits)
@example(edit=SIGNER_NAME_TAG)
@example(edit=SIGNER_KEY_ALGORITHM)
@example(edit=SIGNER_PUBLIC_KEY)
def test_mdoc_mutated_from_a_genuine_one_never_verifies(genuine: Genuine, tried: Counter, edit: Edits) -> None:
    tried()
    changed = edit(genuine.mdoc)
    if changed != genuine.mdoc:
        _refused_mdoc(genuine, changed)


@st.composite
def mdoc_shaped(draw: st.DrawFn, ds_der: bytes) -> Any:
    """A DeviceResponse whose every part may be replaced by an arbitrary CBOR item (the real DS certificate in
    the x5chain, so the chain check passes and the parsers behind it are reached)."""

    def part(value: Any) -> Any:
        return draw(cbor_values) if draw(st.integers(0, 3)) == 0 else value

    mso = part(
        {
            "version": part("1.0"),
            "digestAlgorithm": part("SHA-256"),
            "docType": part(MDL_DOCTYPE),
            "valueDigests": part({MDL_NAMESPACE: part({0: part(b"\0" * 32)})}),
            "deviceKeyInfo": part({"deviceKey": part({1: 2, -1: 1, -2: b"\1" * 32, -3: b"\2" * 32})}),
            "validityInfo": part({"signed": part(CBORTag(0, "2026-11-25T01:00:00Z")), "validUntil": part(0)}),
        }
    )
    item = part(
        {"digestID": part(0), "random": part(b"\0" * 16), "elementIdentifier": "family_name", "elementValue": "张"}
    )
    issuer_auth = [
        part(dumps({1: -7})),
        part({33: ds_der}),
        part(dumps(CBORTag(24, dumps(mso)))),
        part(b"\0" * 64),
    ]
    document = {
        "docType": part(MDL_DOCTYPE),
        "issuerSigned": {"nameSpaces": part({MDL_NAMESPACE: [_embedded(item)]}), "issuerAuth": issuer_auth},
    }
    return {"version": part("1.0"), "documents": part([document]), "status": part(0)}


@budget(100)
@given(data=st.data())
def test_mdoc_of_arbitrary_cbor_structure_is_refused(genuine: Genuine, tried: Counter, data: st.DataObject) -> None:
    tried()
    value = data.draw(cbor_values | mdoc_shaped(genuine.pki.ds_der))
    _refused_mdoc(genuine, dumps(value))


@budget(60)
@given(data=st.data())
def test_mdoc_whose_mso_is_arbitrary_but_signed_gives_a_verdict(
    genuine: Genuine, tried: Counter, data: st.DataObject
) -> None:
    """The issuer's own key signs a mutated MSO: the checks behind the signature see it (no validity asserted)."""
    tried()
    issuer_signed = cbor2.loads(genuine.mdoc)["documents"][0]["issuerSigned"]
    replacement = data.draw(st.dictionaries(st.sampled_from(MDOC_WORDS[5:22]), cbor_values, max_size=3))

    def change(mso: dict[Any, Any]) -> None:
        mso.update(replacement)

    resigned = resign(cbor2.dumps(issuer_signed), genuine.pki.ds_key, mso=change)
    result = verify_mdoc(resigned, [genuine.pki.root], at=AT)
    _no_crash(result.errors)


@budget(100)
@given(
    text=st.one_of(
        st.binary(max_size=600),
        st.text("0123456789abcdefABCDEF \n", max_size=600),
        st.text("AZaz09+/-_=\n", max_size=600),
    )
)
def test_mdoc_file_in_any_text_form_is_read_and_refused(
    genuine: Genuine, tried: Counter, tmp_path_factory: pytest.TempPathFactory, text: bytes | str
) -> None:
    """`edl verify --mdoc FILE` reads raw CBOR, hex or base64 text (`read_mdoc_file`), then verifies."""
    from edl.cli.verify import read_mdoc_file

    tried()
    path = tmp_path_factory.getbasetemp() / "fuzz.mdoc"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    _refused_mdoc(genuine, read_mdoc_file(path))


def test_mdoc_file_in_hex_and_base64_of_a_genuine_mdoc_verifies(genuine: Genuine, tmp_path: Path) -> None:
    from edl.cli.verify import read_mdoc_file

    for text in (genuine.mdoc.hex(), base64.urlsafe_b64encode(genuine.mdoc).decode().rstrip("=")):
        (tmp_path / "m").write_text(text)
        assert verify_mdoc(read_mdoc_file(tmp_path / "m"), [genuine.pki.root], at=AT).valid


# --- 亮码 (EDL1: codes) ---------------------------------------------------------------------------------------------


def _refused_code(genuine: Genuine, text: str) -> None:
    result = verify_code(text, [genuine.pki.root], [genuine.pki.ds], at=AT)
    _no_crash(result.errors)
    assert not result.valid


def _wrap(cose: bytes) -> str:
    return "EDL1:" + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def _unwrap(code: str) -> bytes:
    return zlib.decompress(base45.b45decode(code.removeprefix("EDL1:")))


@budget(200)
@given(text=st.text(max_size=500) | st.text(base45.BASE45_CHARSET, max_size=500).map(lambda t: "EDL1:" + t))
@example(text="EDL1:" + "0" * 5000)
@example(text="EDL1:" + base45.b45encode(zlib.compress(b"\0" * 10_000_000)).decode())  # a decompression bomb
def test_code_from_arbitrary_text_is_refused(genuine: Genuine, tried: Counter, text: str) -> None:
    tried()
    _refused_code(genuine, text)


@budget(200)
@given(edit=edits, chained=st.booleans())
@example(edit=SIGNER_NAME_TAG, chained=True)
@example(edit=SIGNER_KEY_ALGORITHM, chained=True)
@example(edit=SIGNER_PUBLIC_KEY, chained=True)
def test_code_whose_cose_bytes_are_mutated_never_verifies(
    genuine: Genuine, tried: Counter, edit: Edits, chained: bool
) -> None:
    """Mutations inside the compression, so they reach the COSE and claims parsers (not only Base45); half of the
    codes carry their signer's certificate (x5chain), which the verifier then parses from the code itself."""
    tried()
    cose = _unwrap(genuine.chained_code if chained else genuine.code)
    changed = edit(cose)
    if changed != cose:
        _refused_code(genuine, _wrap(changed))


CLAIM_KEYS = (1, 4, 6, 7, "eid", "cls", "st", "sli", "vu")


@st.composite
def code_claims(draw: st.DrawFn) -> dict[Any, Any]:
    """A claims map near a real one: each claim kept, dropped, or replaced by an arbitrary CBOR item."""
    genuine = {
        1: "edl",
        4: int((NOW + timedelta(seconds=180)).timestamp()),
        6: int(NOW.timestamp()),
        7: b"\1" * 8,
        "eid": b"\2" * 16,
        "cls": ["C1"],
        "st": "A",
        "sli": 7,
        "vu": "2031-01-01",
    }
    out: dict[Any, Any] = {}
    for key, value in genuine.items():
        choice = draw(st.sampled_from(("keep", "keep", "drop", "replace")))
        if choice == "keep":
            out[key] = value
        elif choice == "replace":
            out[key] = draw(cbor_values)
    out.update(draw(st.dictionaries(cbor_keys, cbor_values, max_size=2)))
    return out


@budget(120)
@given(claims=code_claims() | cbor_values, signed=st.booleans(), data=st.data())
def test_code_of_arbitrary_claims_gives_a_verdict(
    genuine: Genuine, tried: Counter, claims: Any, signed: bool, data: st.DataObject
) -> None:
    """Claims near real ones and arbitrary CBOR, in a well-formed COSE_Sign1; half of them signed by the genuine
    document signer, so the time and lifetime checks behind the signature are reached too."""
    tried()
    protected = dumps({1: -7, 4: kid_of(genuine.pki.ds)})
    payload = dumps(claims)
    signature = (
        genuine.pki.signer.sign(sig_structure(protected, payload))
        if signed
        else data.draw(st.binary(min_size=64, max_size=64))
    )
    unprotected = data.draw(st.just({}) | st.dictionaries(cbor_keys, cbor_values, max_size=2))
    text = _wrap(dumps(CBORTag(18, [protected, unprotected, payload, signature])))
    result = verify_code(text, [genuine.pki.root], [genuine.pki.ds], at=AT)
    _no_crash(result.errors)
    if not signed:
        assert not result.valid


# --- status-list tokens and trust bundles -------------------------------------------------------------------------


def _status_list(genuine: Genuine, data: bytes) -> None:
    result = verify_status_list_token(data, [genuine.authority.root_certificate()], at=AT)
    _no_crash(result.errors)
    assert not result.valid
    result.to_json_dict()


@budget(100)
@given(data=st.binary(max_size=2000))
def test_status_list_from_arbitrary_bytes_is_refused(genuine: Genuine, tried: Counter, data: bytes) -> None:
    tried()
    _status_list(genuine, data)


@budget(150)
@given(data=st.data())
def test_status_list_mutated_from_a_genuine_one_never_verifies(
    genuine: Genuine, tried: Counter, data: st.DataObject
) -> None:
    tried()
    changed = data.draw(mutated(genuine.status_list))
    if changed != genuine.status_list:
        _status_list(genuine, changed)


@st.composite
def status_claims(draw: st.DrawFn) -> Any:
    def part(value: Any) -> Any:
        return draw(cbor_values) if draw(st.integers(0, 3)) == 0 else value

    return part(
        {
            2: part(URI),
            6: part(int(NOW.timestamp())),
            4: part(int((NOW + timedelta(hours=1)).timestamp())),
            65534: part(300),
            65533: part({"bits": part(2), "lst": part(zlib.compress(bytes(draw(st.binary(max_size=16)))))}),
        }
    )


@budget(100)
@given(claims=status_claims())
def test_status_list_claims_parse_or_raise_value_error(tried: Counter, claims: Any) -> None:
    tried()
    with contextlib.suppress(ValueError):
        parse_status_list_claims(claims)


@budget(40)
@given(claims=status_claims())
def test_status_list_of_arbitrary_signed_claims_gives_a_verdict(genuine: Genuine, tried: Counter, claims: Any) -> None:
    tried()
    signer = genuine.authority.service_signer("status-list", NOW - timedelta(days=1))
    token = sign_service_object(claims, signer, typ=STATUS_TYP)
    result = verify_status_list_token(token, [genuine.authority.root_certificate()], at=AT)
    _no_crash(result.errors)
    result.to_json_dict()


def _bundle(genuine: Genuine, data: bytes) -> None:
    try:
        verify_trust_bundle(data, genuine.authority.root_certificate(), at=AT)
    except TrustBundleError:
        return
    pytest.fail("a mutated trust bundle was accepted")


@budget(100)
@given(data=st.binary(max_size=2000))
def test_trust_bundle_from_arbitrary_bytes_is_refused(genuine: Genuine, tried: Counter, data: bytes) -> None:
    tried()
    _bundle(genuine, data)


@budget(150)
@given(data=st.data())
def test_trust_bundle_mutated_from_a_genuine_one_never_verifies(
    genuine: Genuine, tried: Counter, data: st.DataObject
) -> None:
    tried()
    changed = data.draw(mutated(genuine.bundle))
    if changed != genuine.bundle:
        _bundle(genuine, changed)


@st.composite
def bundle_payloads(draw: st.DrawFn, root_der: bytes, signer_ders: list[bytes]) -> Any:
    def part(value: Any) -> Any:
        return draw(cbor_values) if draw(st.integers(0, 3)) == 0 else value

    signers = [
        part({"certificate": part(der), "kid": part(b"\0" * 8), "not_before": part(0), "not_after": part(2**40)})
        for der in signer_ders
    ]
    return part(
        {
            "version": part(3),
            "iat": part(int(NOW.timestamp())),
            "max_age": part(86400),
            "root": part(root_der),
            "signers": part(signers),
            "status_list": part({"uri": part(URI)}),
        }
    )


@pytest.fixture(scope="module")
def ders(genuine: Genuine) -> tuple[bytes, list[bytes]]:
    root = genuine.authority.root_certificate().public_bytes(serialization.Encoding.DER)
    return root, [r.certificate.public_bytes(serialization.Encoding.DER) for r in genuine.authority.signers()]


@budget(60)
@given(data=st.data(), signed=st.booleans())
def test_trust_bundle_of_arbitrary_payload_is_refused_or_read(
    genuine: Genuine, ders: tuple[bytes, list[bytes]], tried: Counter, data: st.DataObject, signed: bool
) -> None:
    """Payloads near a real one, parsed directly and (half of them) signed by the genuine trust-list signer."""
    tried()
    payload = data.draw(bundle_payloads(*ders))
    root = genuine.authority.root_certificate()
    try:
        if signed:
            signer = genuine.authority.service_signer("trust-list", NOW - timedelta(days=1))
            verify_trust_bundle(sign_service_object(payload, signer, typ=TRUST_TYP), root, at=AT)
        else:
            parse_bundle_payload(payload, root)
    except TrustBundleError:
        pass


# --- registry rows (CSV and JSON Lines) ----------------------------------------------------------------------------

TRICKY = (
    "",
    " ",
    "\x00",
    "\ufeff1",
    "٣",
    "９",
    "𝟗",
    "Ⅻ",
    "1e3",
    "-1",
    "+1",
    "0x10",
    "1_000",
    "9" * 5000,
    "2026-02-30",
    "2026-1-1",
    "0000-01-01",
    "9999-12-31",
    "2026-01-01T00:00",
    '=HYPERLINK("http://x")',
    "A" * 300,
    "\u202e",
    "null",
    "true",
    "长期",
)


@st.composite
def row_fields(draw: st.DrawFn) -> dict[str, str]:
    """A genuine row with 1-4 fields replaced by arbitrary or tricky text, or dropped."""
    fields = row(draw(st.integers(0, 400)))
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(COLUMNS))
        if draw(st.integers(0, 5)) == 0:
            fields.pop(name, None)
        else:
            fields[name] = draw(st.sampled_from(TRICKY) | st.text(max_size=30))
    return fields


@budget(200)
@given(fields=row_fields() | st.dictionaries(st.sampled_from(COLUMNS), st.text(max_size=30)))
def test_registry_row_is_a_licence_or_rejected(tried: Counter, fields: dict[str, str]) -> None:
    tried()
    try:
        RowParser(TODAY).licence(fields)
    except RowRejected as exc:
        assert exc.reason


def _csv_line(fields: dict[str, str]) -> bytes:
    return (",".join(fields.get(c, "") for c in COLUMNS) + "\n").encode("utf-8", "surrogatepass")


def _json_line(fields: dict[str, Any]) -> bytes:
    return (json.dumps(fields, ensure_ascii=False) + "\n").encode("utf-8", "surrogatepass")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@st.composite
def registry_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, content): a header or first record, then lines that are genuine, mutated or arbitrary."""
    kind = draw(st.sampled_from(("csv", "jsonl")))
    line = _csv_line if kind == "csv" else _json_line
    lines = [(",".join(COLUMNS) + "\n").encode()] if kind == "csv" else [line(row(0))]
    for _ in range(draw(st.integers(0, 4))):
        lines.append(
            draw(
                st.one_of(
                    row_fields().map(line),
                    row_fields().map(line).flatmap(mutated),
                    st.binary(max_size=200),
                    json_values.map(lambda v: (json.dumps(v) + "\n").encode()),
                    st.sampled_from((b"[" * 5000 + b"\n", b"{" * 2000 + b"\n", b'"' * 3 + b"\n", b"\r\n", b",,,\n")),
                )
            )
        )
    if draw(st.booleans()):
        lines = [draw(mutated(b"".join(lines)))]
    content = b"".join(lines)
    gz = draw(st.sampled_from(("", "", ".gz")))
    if gz:
        content = gzip.compress(content, mtime=0)
        if draw(st.booleans()):
            content = draw(mutated(content))
    return f"fuzz.{kind}{gz}", content


def _import(path: Path) -> int:
    """What `import_file` does with each line, without a database: read, parse, check. Returns rows read."""
    parser = RowParser(TODAY)
    try:
        registry = RegistryFile(path)
    except ImportRefused:
        return 0
    read = 0
    with registry:
        for _line_no, _text, fields, reason in registry.records():
            read += 1
            if fields is None:
                assert reason
                continue
            with contextlib.suppress(RowRejected):
                parser.licence(fields)
    return read


@budget(100)
@given(file=registry_files())
@example(file=("deep.jsonl", b"[" * 100_000 + b"\n"))  # issue 10: a traceback, exit 1
@example(file=("deep.jsonl", _json_line(row(0)) + b"[" * 60_000 + b"\n"))
@example(file=("deep.csv", b"[" * 100_000 + b"\n"))
def test_registry_file_is_read_row_by_row_or_refused(
    tried: Counter, tmp_path_factory: pytest.TempPathFactory, file: tuple[str, bytes]
) -> None:
    tried()
    name, content = file
    folder = tmp_path_factory.getbasetemp() / "registry-fuzz"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    _import(path)


# --- uploaded images ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Images:
    photo_jpeg: bytes
    photo_png: bytes
    qr_png: bytes
    qr_jpeg: bytes


@pytest.fixture(scope="module")
def images() -> Images:
    photo = id_photo("astronaut", size=(400, 500))
    qr = io.BytesIO()
    segno.make("EDL1:6BFOXN*TS0BI$ZD", error="m").save(qr, kind="png", scale=3, border=2)
    rgb = Image.open(io.BytesIO(qr.getvalue())).convert("RGB")
    qr_jpeg = io.BytesIO()
    rgb.save(qr_jpeg, "JPEG", quality=80)
    return Images(photo, png(Image.open(io.BytesIO(photo)).resize((380, 470))), qr.getvalue(), qr_jpeg.getvalue())


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@st.composite
def crafted_png(draw: st.DrawFn) -> bytes:
    """A PNG whose header says anything (width, height, depth, colour type, interlace) with a valid CRC, then a
    little zlib data. Sizes stay small or far past every cap, so a test never decodes a huge image."""
    side = st.integers(0, 300) | st.sampled_from((65_535, 100_000, 2**31 - 1, 2**32 - 1))
    ihdr = struct.pack(
        ">IIBBBBB",
        draw(side),
        draw(side),
        draw(st.sampled_from((1, 2, 4, 8, 16, 3, 0))),
        draw(st.sampled_from((0, 2, 3, 4, 6, 1, 7))),
        0,
        0,
        draw(st.sampled_from((0, 1, 2))),
    )
    body = [_chunk(b"IHDR", ihdr)]
    if draw(st.booleans()):
        body.append(_chunk(b"PLTE", draw(st.binary(max_size=30))))
    body.append(_chunk(b"IDAT", zlib.compress(draw(st.binary(max_size=200)))))
    if draw(st.booleans()):
        body.append(_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(body)


@st.composite
def crafted_jpeg(draw: st.DrawFn) -> bytes:
    """A JPEG with a baseline SOF0 that says any size and component count, and a few arbitrary bytes after it."""
    side = st.integers(0, 300) | st.sampled_from((65_535, 40_000))
    components = draw(st.sampled_from((1, 3, 4, 0, 2)))
    sof = struct.pack(">BHHB", 8, draw(side), draw(side), components) + b"".join(
        struct.pack(">BBB", i + 1, 0x11, 0) for i in range(components)
    )
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xc0"
        + struct.pack(">H", len(sof) + 2)
        + sof
        + draw(st.binary(max_size=200))
        + b"\xff\xd9"
    )


def _photo(data: bytes) -> None:
    try:
        checked = check_photo(data)
    except PhotoRejected as exc:
        assert exc.code
        return
    assert isinstance(checked, CheckedPhoto)


def _decode(data: bytes) -> None:
    from edl.web.verifier.scan import decode_image

    try:
        found = decode_image(data)
    except ValueError:
        return
    assert found is None or isinstance(found[0], str)


def _images(images: Images, photo: bool) -> st.SearchStrategy[bytes]:
    genuine = (images.photo_jpeg, images.photo_png) if photo else (images.qr_png, images.qr_jpeg)
    return st.one_of(
        st.binary(max_size=600),
        st.sampled_from(genuine).flatmap(lambda g: mutated(g, head=300)),
        crafted_png(),
        crafted_jpeg(),
    )


@budget(60)
@given(data=st.data())
def test_uploaded_photo_is_checked_or_rejected(images: Images, tried: Counter, data: st.DataObject) -> None:
    tried()
    _photo(data.draw(_images(images, photo=True)))


@budget(60)
@given(data=st.data())
def test_uploaded_code_image_is_read_or_refused(images: Images, tried: Counter, data: st.DataObject) -> None:
    tried()
    _decode(data.draw(_images(images, photo=False)))


def test_the_genuine_images_pass(images: Images) -> None:
    """The inputs the image fuzz mutates are accepted as they are (so mutations start from something real)."""
    from edl.web.verifier.scan import decode_image

    assert check_photo(images.photo_jpeg).width > 0
    assert decode_image(images.qr_png) == ("EDL1:6BFOXN*TS0BI$ZD", "qr")
