"""Run one crawl in-process (what ``commons crawl`` does) and report how it ended."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from commons.exceptions import CommonsError, CrawlError


@dataclass(frozen=True)
class CrawlResult:
    """How a crawl ended."""

    source: str
    snapshot_id: str | None
    status: str | None
    documents: int
    snapshot_dir: str | None
    error: str | None
    stats: dict[str, Any]


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The crawler project's settings (as ``scrapy crawl`` sees them) plus overrides."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(spider: str, spider_args: dict[str, Any], overrides: dict[str, Any]) -> CrawlResult:
    """Run spider ``spider`` to the end in this process.

    Raises:
        CrawlError: the crawl failed; the snapshot (if one was started) is marked failed.
    """
    settings = project_settings(overrides)
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(settings)
    logging.basicConfig(level=settings.get("LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL", "WARNING"))
    crawler = process.create_crawler(spider)
    startup_errors: list[BaseException] = []
    deferred = process.crawl(crawler, **spider_args)

    def keep(failure: Failure) -> None:
        if failure.value is not None:
            startup_errors.append(failure.value)

    deferred.addErrback(keep)
    process.start()
    for exc in startup_errors:
        if isinstance(exc, CommonsError):
            raise exc
    stats = crawler.stats.get_stats() if crawler.stats else {}
    error = stats.get("commons/error")
    status = stats.get("commons/status")
    url = str(spider_args.get("url"))
    if error:
        where, problem, advice = json.loads(stats["commons/error_parts"])
        raise CrawlError(where, problem, advice)
    if status != "complete":
        reason = stats.get("finish_reason", "unknown")
        raise CrawlError(url, f"crawl ended without completing (reason: {reason})",
                         "run again with --verbose to see the log")
    return CrawlResult(
        source=str(spider_args.get("source")),
        snapshot_id=stats.get("commons/snapshot_id"),
        status=status,
        documents=int(stats.get("commons/documents", 0)),
        snapshot_dir=stats.get("commons/snapshot_dir"),
        error=None,
        stats={k: v for k, v in stats.items() if isinstance(v, int | float | str)},
    )
