"""ISO/IEC 18013-5:2021 Annex D test vectors (D.4.1.2 mdoc response and its demo PKI).

The files live in ``tests/vectors/annexd/`` (public example data copied from the project's shared
vectors folder so a clone is self-contained); every file is one line of hex (see its README.txt for
the source of each: multipaz TestVectors.kt, nl-wallet examples.rs).
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

VECTORS = Path(__file__).resolve().parent / "annexd"

DEVICE_RESPONSE = "annexd_device_response.hex"
"""D.4.1.2 DeviceResponse: one mDL, 6 disclosed items, ES256, DS cert in x5chain."""
DEVICE_RESPONSE_VARIANT = "annexd_device_response_variant_pymdoccbor.hex"
"""The same example as pyMDOC-CBOR ships it: other DS certificate serial and signature bytes."""
IACA_ROOT_PEM = "annexd_iaca_root_cert.pem"
READER_ROOT_PEM = "annexd_reader_root_cert.pem"
DS_CERT_PEM = "annexd_ds_cert.pem"
PORTRAIT = "annexd_portrait.jpg.hex"


def vector_bytes(name: str) -> bytes:
    """The bytes of a hex vector file."""
    return bytes.fromhex((VECTORS / name).read_text("ascii").strip())


def vector_certificate(name: str) -> x509.Certificate:
    """A PEM certificate vector."""
    return x509.load_pem_x509_certificate((VECTORS / name).read_bytes())
