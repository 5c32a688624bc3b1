"""Domain errors of the auditor; each names the file, column or run and what to do."""

from __future__ import annotations

from collections.abc import Sequence

from commons.exceptions import CommonsError


class AuditError(CommonsError):
    """Base class of the auditor's errors."""


class InputNotFoundError(AuditError):
    """An input path or glob matches no readable training file."""

    exit_code = 2


class UnsupportedInputError(AuditError):
    """A training file has a format the auditor does not read."""

    exit_code = 2


class MissingColumnError(AuditError):
    """The text or id column is not in a training file."""

    exit_code = 2

    def __init__(self, path: str, option: str, column: str, available: Sequence[str]) -> None:
        cols = ", ".join(available) if available else "(none)"
        super().__init__(
            f"{path}: no column {column!r}; it has: {cols}; pass the right one with {option}"
        )
        self.path = path
        self.column = column
        self.available = list(available)


class CorruptInputError(AuditError):
    """A training file cannot be read."""


class EmptyTrainingSetError(AuditError):
    """The training set has no document with usable text."""


class RunExistsError(AuditError):
    """An audit with this --run-name already exists."""

    exit_code = 2


class SignatureCacheError(AuditError):
    """A stored source signature folder is unreadable."""
