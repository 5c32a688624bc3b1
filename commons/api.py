"""The public Python API: audit a training set, crawl a source, query the catalog, report.

Everything a script needs is importable from here::

    from commons.api import AuditParams, RunOptions, audit, catalog, crawl, report

The ``commons`` command is a thin layer over these functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.config import AuditConfig, AuditParams, RunOptions
from commons.catalog import Catalog, ViewProvider
from commons.store import DataDir, SnapshotStore

if TYPE_CHECKING:
    from audit.report.build import ReportResult
    from audit.run import AuditResult
    from crawler.runner import CrawlResult

__all__ = [
    "AuditConfig",
    "AuditParams",
    "Catalog",
    "DataDir",
    "RunOptions",
    "SnapshotStore",
    "audit",
    "catalog",
    "crawl",
    "report",
    "view_providers",
]

PathLike = str | os.PathLike[str]


def _data(data: PathLike | DataDir | None) -> DataDir:
    if isinstance(data, DataDir):
        return data
    return DataDir(data if data is not None else os.environ.get("COMMONS_DATA", "data"))


def view_providers() -> list[ViewProvider]:
    """Every package's catalog views, in the order they are created."""
    from audit.views import audit_views
    from crawler.views import crawl_views
    from pipelines.views import pipeline_views

    return [crawl_views, audit_views, pipeline_views]


def catalog(data: PathLike | DataDir | None = None) -> Catalog:
    """The catalog of a data store with every view (``commons sql`` sees the same)."""
    return Catalog(_data(data), view_providers())


def crawl(kind: str, url: str, *, source: str, contact: str,
          data: PathLike | DataDir | None = None, delay: float | None = None,
          progress: bool = False, **options: Any) -> CrawlResult:
    """Snapshot a source with spider ``kind`` (``mediawiki``, ``discourse``, ``forum``).

    ``options`` are the spider's arguments (``namespaces=[0]``, ``incremental=True``,
    ``preset="phpbb"``, ...), as ``commons crawl KIND`` passes them.

    Raises:
        CrawlError: the crawl failed (its snapshot is marked failed).
        ConfigError: an argument is unusable.
    """
    from commons.store import check_source_name
    from crawler.runner import run_crawl
    from crawler.spiders.base import check_base_url, check_contact

    settings: dict[str, Any] = {"COMMONS_DATA": str(_data(data).root), "LOG_LEVEL": "CRITICAL",
                                "COMMONS_PROGRESS": progress}
    if delay is not None:
        settings.update(DOWNLOAD_DELAY=delay, AUTOTHROTTLE_START_DELAY=delay)
    args = {"url": check_base_url(url), "source": check_source_name(source),
            "contact": check_contact(contact), **options}
    return run_crawl(kind, args, settings)


def audit(inputs: Sequence[PathLike], *, sources: Sequence[str], run_name: str,
          data: PathLike | DataDir | None = None, text_column: str = "text",
          id_column: str | None = None, params: AuditParams | None = None,
          options: RunOptions | None = None) -> AuditResult:
    """Audit the training files ``inputs`` against the latest snapshots of ``sources``.

    ``params`` define the result (``AuditParams(threshold=0.9, sample=1000)``; default: the
    CLI's defaults), ``options`` how the run goes (default: no progress bars). The run lands
    in ``DATA/audits/<run_name>/`` and the catalog's ``audit_*`` views.

    Raises:
        CommonsError: bad input or configuration (the run is marked failed if it began).
    """
    from audit.run import run_audit

    cfg = AuditConfig(run_name=run_name, inputs=tuple(str(i) for i in inputs),
                      sources=tuple(sources), text_column=text_column, id_column=id_column,
                      params=params or AuditParams(),
                      options=options or RunOptions(progress=False))
    return run_audit(cfg, _data(data))


def report(run: str, out: PathLike, *, data: PathLike | DataDir | None = None,
           top: int = 25) -> ReportResult:
    """Write the report of a complete audit run into folder ``out`` (``commons report``)."""
    from audit.report.build import write_report

    return write_report(catalog(data), run, Path(out), top=top)
