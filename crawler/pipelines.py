"""Item pipeline that writes a snapshot to the Parquet store (Scrapy has no Parquet exporter)."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured

from commons.exceptions import CrawlError
from commons.locks import SourceLock
from commons.normalize import content_sha1, words
from commons.store import (
    DataDir,
    SnapshotManifest,
    SnapshotStore,
    SnapshotWriter,
    crawl_lock,
    new_snapshot_id,
)
from crawler.items import DocumentItem, SnapshotInfoItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

#: Settings copied into every manifest (what shaped the crawl's behaviour).
RECORDED_SETTINGS: tuple[str, ...] = (
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
    "ROBOTSTXT_USER_AGENT",
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED",
    "AUTOTHROTTLE_START_DELAY",
    "AUTOTHROTTLE_MAX_DELAY",
    "AUTOTHROTTLE_TARGET_CONCURRENCY",
    "RETRY_TIMES",
    "RETRY_AFTER_MAX",
    "CRAWL_DELAY_MAX",
    "DOWNLOAD_TIMEOUT",
    "COMMONS_BATCH_ROWS",
    "MEDIAWIKI_BATCH",
    "MEDIAWIKI_RC_MARGIN",
    "FORUM_INCREMENTAL_MARGIN",
)


def document_row(item: DocumentItem) -> dict[str, Any]:
    """The Parquet row of a document; derived columns computed here, once for every spider."""
    row = dataclasses.asdict(item)
    row["n_words"] = len(words(item.text))
    row["content_sha1"] = content_sha1(item.text)
    return row


class ParquetSnapshotPipeline:
    """Writes ``DocumentItem``s in bounded batches and the manifest of the snapshot.

    The spider must have ``source`` and ``base_url`` attributes; ``snapshot_id`` is assigned
    here when the spider has none. The snapshot is marked ``complete`` only when the spider
    finished normally and recorded no error (stat ``commons/error``); otherwise ``failed``.
    A killed process leaves it ``running``. While it writes, the pipeline holds the source's
    crawl lock, so two crawls (or a crawl and its ``--resume``) never write one source at once.
    The hooks (``_acquire``, ``_new_manifest``, ``_open``, ``_add``, ``_info_recorded``,
    ``_end``) are what a distributed worker changes (:mod:`crawler.frontier.pipeline`).
    """

    def __init__(self, crawler: Crawler) -> None:
        data = crawler.settings.get("COMMONS_DATA") or os.environ.get("COMMONS_DATA") or "data"
        self.data = DataDir(data)
        self.batch_rows = crawler.settings.getint("COMMONS_BATCH_ROWS", 2000)
        self.crawler = crawler
        self.writer: SnapshotWriter | None = None
        self.spider: Spider | None = None
        self.lock: SourceLock | None = None
        #: doc_ids already durable in a resumed snapshot: not written twice.
        self.seen: set[str] = set()
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParquetSnapshotPipeline:
        if not crawler.settings.getbool("COMMONS_WRITE_SNAPSHOT", True):
            raise NotConfigured
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        assert spider is not None
        self.spider = spider
        source: str = spider.source  # type: ignore[attr-defined]
        settings = self.crawler.settings
        self.lock = crawl_lock(self.data, source)
        if not self._acquire(self.lock):
            raise CrawlError(
                spider.base_url,  # type: ignore[attr-defined]
                f"another crawl of source {source!r} is writing to {self.data.root} "
                f"(pid {self.lock.holder() or 'unknown'})",
                "wait for it to end, or stop it and continue its snapshot with --resume")
        resumed: SnapshotManifest | None = getattr(spider, "resume_manifest", None)
        if resumed is not None:
            manifest = resumed
            self.seen = SnapshotStore(self.data).doc_ids(source, manifest.snapshot_id)
            manifest.stats["resumes"] = int(manifest.stats.get("resumes", 0)) + 1
        else:
            manifest = self._new_manifest(spider, source)
        spider.snapshot_id = manifest.snapshot_id  # type: ignore[attr-defined]
        manifest.user_agent = settings.get("USER_AGENT")
        manifest.settings = {k: settings.get(k) for k in RECORDED_SETTINGS}
        self.writer = SnapshotWriter(self.data, manifest, batch_rows=self.batch_rows)
        self._sync_from_spider()
        self._open()
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("commons/snapshot_id", manifest.snapshot_id)
        self.crawler.stats.set_value("commons/snapshot_dir", str(self.writer.dir))

    def _acquire(self, lock: SourceLock) -> bool:
        """Take the source's crawl lock (exclusively)."""
        return lock.acquire()

    def _new_manifest(self, spider: Spider, source: str) -> SnapshotManifest:
        """The manifest of a new snapshot."""
        snapshot_id = getattr(spider, "snapshot_id", None) or new_snapshot_id(self.data, source)
        return SnapshotManifest(source=source, snapshot_id=snapshot_id, crawler=spider.name,
                                base_url=spider.base_url)  # type: ignore[attr-defined]

    def _open(self) -> None:
        """Create the snapshot folder and write the running manifest."""
        assert self.writer is not None
        self.writer.open()

    def _sync_from_spider(self) -> None:
        """Copy the spider's parameters and base snapshot (they can change mid-crawl, e.g.
        an incremental crawl that falls back to a full one) into the manifest."""
        assert self.writer is not None
        m = self.writer.manifest
        m.parameters.update(getattr(self.spider, "parameters", {}))
        m.base_snapshot = getattr(self.spider, "base_snapshot", m.base_snapshot)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        assert self.writer is not None
        if isinstance(item, DocumentItem):
            if item.doc_id in self.seen:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("commons/resume_skipped")
                return item
            self._add(item, document_row(item))
        elif isinstance(item, SnapshotInfoItem):
            m = self.writer.manifest
            m.site.update(item.site)
            m.license.update(item.license)
            m.robots.update(item.robots)
            m.consent.update(item.consent)
            if item.expected_documents is not None:
                m.expected_documents = item.expected_documents
            self._sync_from_spider()
            self._info_recorded()
        return item

    def _add(self, item: DocumentItem, row: dict[str, Any]) -> None:
        """Buffer a document's row (written in batches)."""
        assert self.writer is not None
        self.writer.add(row)

    def _info_recorded(self) -> None:
        """Facts about the site were merged into the manifest."""
        assert self.writer is not None
        self.writer.write_manifest()

    def _spider_closed(self, spider: Spider, reason: str) -> None:
        if self.writer is None:
            return
        stats = self.crawler.stats
        assert stats is not None
        error = stats.get_value("commons/error")
        self._sync_from_spider()
        self.writer.manifest.stats.update(
            {k: v for k, v in stats.get_stats().items() if isinstance(v, int | float | str)}
        )
        self._end(reason, error)
        stats.set_value("commons/status", self.writer.manifest.status)
        stats.set_value("commons/documents", self.writer.manifest.documents)
        if self.lock is not None:
            self.lock.release()

    def _end(self, reason: str, error: Any) -> None:
        """Mark the snapshot complete, or failed with its error."""
        assert self.writer is not None
        if reason == "finished" and not error:
            self.writer.complete()
        else:
            self.writer.fail(str(error or f"crawl stopped: {reason}"))
