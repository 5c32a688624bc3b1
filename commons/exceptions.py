"""Domain errors. Each carries its facts and says how to fix the problem.

The CLI prints ``str(error)`` as one line and exits non-zero; no traceback.
"""

from __future__ import annotations


class CommonsError(Exception):
    """Base class for every error a user can act on."""

    exit_code: int = 1


class ConfigError(CommonsError):
    """A command-line option or configuration value is unusable."""

    exit_code = 2


class SnapshotNotFoundError(CommonsError):
    """No snapshot matches what was asked for."""


class NoCompleteSnapshotError(CommonsError):
    """A source has no complete snapshot to audit or report on."""

    def __init__(self, source: str, data_dir: str) -> None:
        super().__init__(
            f"source {source!r} has no complete snapshot in {data_dir}: "
            f"run `commons crawl ... --source {source} --data {data_dir}` first "
            "(see `commons snapshots`)"
        )
        self.source = source


class CorruptSnapshotError(CommonsError):
    """A manifest or part file on disk cannot be read."""


class CrawlError(CommonsError):
    """A crawl could not run or finish; the snapshot is left marked failed."""

    def __init__(self, url: str, problem: str, advice: str) -> None:
        super().__init__(f"{url}: {problem}; {advice}")
        self.url = url
        self.problem = problem
        self.advice = advice


class QueryError(CommonsError):
    """A SQL query given to `commons sql` failed."""
