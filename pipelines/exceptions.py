"""Domain errors of the scheduler; each names its file and key."""

from __future__ import annotations

from pathlib import Path

from commons.exceptions import CommonsError, ConfigError


class SourcesFileError(ConfigError):
    """The sources file is missing or one of its entries is unusable."""

    def __init__(self, path: Path, where: str | None, problem: str, advice: str) -> None:
        place = f"{path}: {where}" if where else str(path)
        super().__init__(f"{place}: {problem}; {advice}")
        self.path = path
        self.where = where
        self.problem = problem


class CorruptRunRecordError(CommonsError):
    """A run record under DATA/runs/ cannot be read."""


class ScheduledRunsFailedError(CommonsError):
    """One or more scheduled crawls failed (each is recorded in DATA/runs/)."""

