"""`edl keys ...`: the issuing authority's keys (IACA root and document signers).

Thin: parse, call `edl.pki`, print. Input that cannot be read gives one line on stderr and exit code 2. No command
ever prints or logs private key material.
"""

from __future__ import annotations

from typing import Annotated

import typer

from edl.cli.common import DataDirOption, fail, now, resolve_data_dir
from edl.pki import Authority, AuthorityProfile, PkiError

keys_app = typer.Typer(help="Issuing-authority keys: IACA root and document signers.", no_args_is_help=True)


@keys_app.command("init")
def keys_init(
    data_dir: DataDirOption = None,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country of the authority")] = "CN",
    organisation: Annotated[str, typer.Option(help="organisation name in the certificates")] = (
        AuthorityProfile.organisation
    ),
    common_name: Annotated[str, typer.Option(help="common name of the IACA root")] = AuthorityProfile.common_name,
    contact_uri: Annotated[str, typer.Option(help="URI in IssuerAlternativeName")] = AuthorityProfile.contact_uri,
    crl_uri: Annotated[str | None, typer.Option(help="CRL distribution point, if one is published")] = None,
) -> None:
    """Create the IACA root and a first document signer (never replaces an existing root)."""
    try:
        profile = AuthorityProfile(
            country=country,
            organisation=organisation,
            common_name=common_name,
            contact_uri=contact_uri,
            crl_uri=crl_uri,
        )
        authority = Authority.open(resolve_data_dir(data_dir), profile=profile)
        root = authority.init(at=now())
        signer = authority.signers()[-1]
    except (PkiError, ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(f"IACA root: {root.subject.rfc4514_string()} serial {root.serial_number:x}")
    typer.echo(f"  valid until {root.not_valid_after_utc.isoformat()}")
    typer.echo(
        f"document signer: key id {signer.key_id}, valid until {signer.certificate.not_valid_after_utc.isoformat()}"
    )


@keys_app.command("rotate-signer")
def keys_rotate_signer(data_dir: DataDirOption = None) -> None:
    """Create a new document signer; older ones stay on record so what they signed still verifies."""
    try:
        record = Authority.open(resolve_data_dir(data_dir)).rotate_signer(at=now())
    except (PkiError, ValueError, OSError) as exc:
        fail(str(exc))
    cert = record.certificate
    typer.echo(f"document signer: key id {record.key_id}, serial {cert.serial_number:x}")
    typer.echo(f"  valid {cert.not_valid_before_utc.isoformat()} .. {cert.not_valid_after_utc.isoformat()}")
