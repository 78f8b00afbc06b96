"""The licence domain: plain Python, no web, database or I/O imports."""

from edl.domain.authority import AUTHORITIES_BY_CODE, PILOT_AUTHORITIES, IssuingAuthority, Rollout
from edl.domain.classes import CLASS_TABLE, VehicleClass, format_classes, may_drive, parse_classes
from edl.domain.errors import DomainError, InvalidFileNumber, InvalidIdNumber, InvalidLicence
from edl.domain.idcard import IdNumber, make_id_number, parse_file_number
from edl.domain.licence import (
    Eligibility,
    Holder,
    Licence,
    RecordEntry,
    RecordKind,
    Validity,
    ValidityTerm,
)
from edl.domain.points import PointsCycle
from edl.domain.status import STATUS_TABLE, Status, format_statuses, parse_statuses

__all__ = [
    "AUTHORITIES_BY_CODE",
    "CLASS_TABLE",
    "PILOT_AUTHORITIES",
    "STATUS_TABLE",
    "DomainError",
    "Eligibility",
    "Holder",
    "IdNumber",
    "InvalidFileNumber",
    "InvalidIdNumber",
    "InvalidLicence",
    "IssuingAuthority",
    "Licence",
    "PointsCycle",
    "RecordEntry",
    "RecordKind",
    "Rollout",
    "Status",
    "Validity",
    "ValidityTerm",
    "VehicleClass",
    "format_classes",
    "format_statuses",
    "make_id_number",
    "may_drive",
    "parse_classes",
    "parse_file_number",
    "parse_statuses",
]
