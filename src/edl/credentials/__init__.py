"""The generic ISO/IEC 18013-5 credential core: issue and verify mdocs (cbor2 + cryptography only).

Issue: `issue_mdoc` (or `prepare_mdoc` → `Signer.sign` → `complete_mdoc`), `device_response`.
Verify: `verify_mdoc` → `VerificationResult` (valid only when every check passed).
The mapping of a driving licence record to mDL data elements lives in `licence_mdl`.
"""

from edl.credentials.errors import ErrorCode, IssuanceError, VerificationError
from edl.credentials.mdoc import (
    PreparedMdoc,
    Validity,
    complete_mdoc,
    device_response,
    generate_device_key,
    issue_mdoc,
    issue_mdoc_with_new_device_key,
    prepare_mdoc,
)
from edl.credentials.names import MDL_DOCTYPE, MDL_NAMESPACE
from edl.credentials.result import DocumentResult, SignerInfo, VerificationResult
from edl.credentials.verify import DEFAULT_LEEWAY, verify_mdoc

__all__ = [
    "DEFAULT_LEEWAY",
    "MDL_DOCTYPE",
    "MDL_NAMESPACE",
    "DocumentResult",
    "ErrorCode",
    "IssuanceError",
    "PreparedMdoc",
    "SignerInfo",
    "Validity",
    "VerificationError",
    "VerificationResult",
    "complete_mdoc",
    "device_response",
    "generate_device_key",
    "issue_mdoc",
    "issue_mdoc_with_new_device_key",
    "prepare_mdoc",
    "verify_mdoc",
]
