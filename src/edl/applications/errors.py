"""Why an application step is refused. Each message says what is wrong and what to do ('中文 / English')."""

from __future__ import annotations

from edl.domain import DomainError


class ApplicationRefused(DomainError):
    """The step cannot be taken; `code` is stable for tests and the audit log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NotFound(ApplicationRefused):
    """No such application (or none this person may see)."""


class AlreadyDecided(ApplicationRefused):
    """Another reviewer decided this application first."""


class FaceCheckFailed(ApplicationRefused):
    """Real-person authentication did not pass."""
