"""PKI errors: specific exception classes whose message a person can act on (never key material)."""

from __future__ import annotations


class PkiError(Exception):
    """Base class of every refusal in the authority PKI."""


class KeyStoreError(PkiError):
    """A private key could not be created, found or loaded."""


class InsecureKeyFileError(KeyStoreError):
    """A key file (or its folder) is readable by someone other than its owner, so it is not used."""


class KeyNotFoundError(KeyStoreError):
    """No key of that name is in the store."""


class KeyExistsError(KeyStoreError):
    """A key of that name already exists; keys are never overwritten."""


class AuthorityNotInitialisedError(PkiError):
    """The data directory has no issuing authority yet (run `edl keys init`)."""


class AuthorityExistsError(PkiError):
    """The data directory already has an issuing authority; `init` never replaces a root."""


class NoUsableSignerError(PkiError):
    """No document-signer certificate on record may sign at the requested time."""


class ChainValidationError(PkiError):
    """A certificate chain does not lead to a trusted root under the ISO 18013-5 profile.

    `code` is one of the stable verification error codes: ``chain_untrusted``,
    ``certificate_expired`` or ``certificate_not_yet_valid``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
