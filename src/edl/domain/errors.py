"""Domain errors: specific exception classes with a message a person can act on."""

from __future__ import annotations


class DomainError(ValueError):
    """Base class of every rule the domain refuses; the message is shown to people."""


class InvalidIdNumber(DomainError):
    """An 18-character citizen ID number (GB 11643) that is malformed or fails its check digit."""


class InvalidFileNumber(DomainError):
    """A 档案编号 (file number) that is not 12 digits."""


class InvalidLicence(DomainError):
    """A licence record whose fields contradict each other or the rules."""


class UnknownVehicleClass(DomainError):
    """A 准驾车型 code that is not in the table of 公安部令第162号."""


class UnknownStatus(DomainError):
    """A 驾驶证状态 code that is not in the status table."""
