"""Domain errors of the report writer; each names the run or file and what to do."""

from __future__ import annotations

from commons.exceptions import CommonsError


class ReportError(CommonsError):
    """Base class of the report writer's errors."""


class RunNotFoundError(ReportError):
    """No audit run of that name in the data store."""

    exit_code = 2

    def __init__(self, run: str, data_dir: str, known: list[str]) -> None:
        have = ", ".join(known) if known else "none"
        super().__init__(
            f"no audit run {run!r} in {data_dir} (runs: {have}); list them with "
            f"`commons audits --data {data_dir}`")
        self.run = run


class RunNotCompleteError(ReportError):
    """The audit run exists but did not complete, so it has no results to report."""

    exit_code = 2

    def __init__(self, run: str, status: str, error: str | None) -> None:
        why = f" ({error})" if error else ""
        super().__init__(
            f"audit run {run!r} is {status}{why}; only a complete run has results: "
            f"re-run it with `commons audit ... --run-name {run} --force`")
        self.run = run
        self.status = status


class DisclosureInvalidError(ReportError):
    """The disclosure record does not satisfy its schema (a bug: nothing was written)."""
