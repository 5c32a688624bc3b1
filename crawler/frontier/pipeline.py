"""The snapshot pipeline of one worker in a distributed crawl (see :mod:`crawler.frontier`).

Rows are buffered with the lease of the request they came from. A part file is written
only with the rows of leases that are finished (callback done, every item through the
pipeline), and *committed* in one Redis step with those leases: the requests leave this
worker's inflight hash exactly when their rows are durable, so a worker killed at any point
loses nothing and writes nothing twice (fetching is at least once, the snapshot exactly
once). The worker that sees the frontier drained first finishes the manifest; the others
wait for its outcome and report it. A failure is recorded once and stops every worker.

Setting: ``FRONTIER_FINISH_WAIT`` (seconds a worker waits for the finishing worker, 300).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from commons.locks import SourceLock
from commons.provenance import host_facts, iso, library_versions, utcnow
from commons.store import MANIFEST_NAME, SnapshotManifest
from commons.workerparts import WorkerPartWriter, settle_worker_parts
from crawler.frontier.client import redact
from crawler.frontier.coordinator import FINISH_HERE, Coordinator
from crawler.items import DocumentItem
from crawler.pipelines import ParquetSnapshotPipeline

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class SharedSnapshotPipeline(ParquetSnapshotPipeline):
    """Writes this worker's part files into the shared snapshot; one worker finishes it."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        coordinator = crawler.get_extension(Coordinator)
        assert coordinator is not None
        self.coordinator = coordinator
        self.frontier = coordinator.frontier
        self.batch_bytes = 32 * 1024 * 1024
        self.finish_wait = crawler.settings.getfloat("FRONTIER_FINISH_WAIT", 300.0)
        self.rows: list[tuple[str | None, dict[str, Any]]] = []
        self._lease_rows: Counter[str | None] = Counter()
        self._bytes = 0
        self.parts: WorkerPartWriter | None = None
        coordinator.on_progress = self._maybe_flush
        coordinator.on_idle = self._idle

    # -- opening ------------------------------------------------------------------------------

    def _acquire(self, lock: SourceLock) -> bool:
        return lock.acquire(shared=True)  # with the other workers, never beside a local crawl

    def _new_manifest(self, spider: Spider, source: str) -> SnapshotManifest:
        manifest = super()._new_manifest(spider, source)
        path = self.data.snapshot_dir(source, manifest.snapshot_id) / MANIFEST_NAME
        if path.exists():
            manifest.started_at = SnapshotManifest.read(path).started_at
        manifest.parameters["frontier"] = redact(self.crawler.settings["COMMONS_FRONTIER"])
        return manifest

    def _open(self) -> None:
        assert self.writer is not None
        if self.coordinator.created:
            with self.frontier.manifest_lock():
                if self.frontier.outcome() is None:
                    self.writer.open()  # the first manifest: running
        m = self.writer.manifest
        m.started_at = m.started_at or iso(utcnow())
        m.versions = library_versions()
        m.host = host_facts()
        self.parts = WorkerPartWriter(self.data, m.source, m.snapshot_id, self.frontier.worker)
        self.parts.open()

    # -- rows ---------------------------------------------------------------------------------

    def _add(self, item: DocumentItem, row: dict[str, Any]) -> None:
        lease = self.coordinator.lease_of(item)
        self.rows.append((lease, row))
        self._lease_rows[lease] += 1
        self._bytes += len(row.get("text") or "")

    def _info_recorded(self) -> None:
        """Kept in memory: only the finishing worker writes the manifest."""

    def _maybe_flush(self) -> None:
        ready = sum(self._lease_rows[lease] for lease in self.coordinator.ackable())
        if ready + self._lease_rows[None] >= self.batch_rows or self._bytes >= self.batch_bytes:
            self.flush()

    def _idle(self) -> None:
        """Everything this worker did is durable now; its stats are visible to the others."""
        self.flush()
        self.frontier.publish_stats(self._numeric_stats())

    def flush(self) -> None:
        """Write the rows of finished leases as one part and commit it with those leases."""
        if self.parts is None:
            return
        leases = sorted(self.coordinator.ackable())
        done = set(leases)
        rows = [row for lease, row in self.rows if lease is None or lease in done]
        if not rows and not leases:
            return
        self.rows = [(lease, row) for lease, row in self.rows
                     if lease is not None and lease not in done]
        self._bytes = sum(len(row.get("text") or "") for _, row in self.rows)
        self._lease_rows = Counter(lease for lease, _ in self.rows)
        stats = self._numeric_stats()

        def commit(part: str) -> bool:
            return self.frontier.commit(part, leases, stats)

        committed = self.parts.write(rows, commit) is not None if rows else commit("")
        self.coordinator.forget(leases)
        if not committed:  # this worker was taken for dead; its requests were requeued
            logger.warning("commit refused: %d rows dropped, another worker fetches them again",
                           len(rows))
            self._stats().inc_value("frontier/commits_refused")

    # -- the end ------------------------------------------------------------------------------

    def _end(self, reason: str, error: Any) -> None:
        assert self.writer is not None
        try:
            self.flush()
            if error:
                self._record_failure(str(error))
            elif reason == "finished" and self.coordinator.finisher:
                self._finish()
            elif reason == "finished":
                self._await_outcome()
            else:  # stopped early (Ctrl-C, SIGTERM): hand the leases back now
                moved = self.frontier.give_back()
                logger.info("worker %s left the crawl; %d requests requeued",
                            self.frontier.worker, moved)
        finally:
            self.coordinator.close()

    def _record_failure(self, error: str) -> None:
        assert self.writer is not None
        stats = self._stats()
        self.writer.manifest.status = "failed"
        if stats.get_value("frontier/failed_elsewhere"):
            return
        parts = stats.get_value("commons/error_parts")
        if not self.frontier.fail({"message": error, "parts": parts}):
            return
        with self.frontier.manifest_lock():
            self._adopt_started_at()
            self.writer.recount()
            self.writer.fail(error)
            self.frontier.close(self._outcome(error=error, parts=parts))

    def _finish(self) -> None:
        """Run by exactly one worker once the frontier is drained."""
        assert self.writer is not None
        m = self.writer.manifest
        with self.frontier.manifest_lock():
            missing = settle_worker_parts(self.writer.dir, self.frontier.committed_parts())
            self._adopt_started_at()
            self._merge_worker_stats()
            self.writer.recount()
            if missing:
                error = (f"{self.writer.dir}: {len(missing)} committed part files are missing "
                         f"(e.g. {missing[0]}); every worker must write to the same data "
                         "store (--data on a shared filesystem)")
                parts = json.dumps([str(self.writer.dir), "committed part files are missing",
                                    "give every worker the same --data on a shared filesystem"])
                self._stats().set_value("commons/error", error)
                self._stats().set_value("commons/error_parts", parts)
                self.writer.fail(error)
                self.frontier.close(self._outcome(error=error, parts=parts))
                return
            self.writer.complete()
            self.frontier.close(self._outcome())
        logger.info("snapshot %s/%s complete: %d documents in %d parts", m.source,
                    m.snapshot_id, m.documents, m.parts)

    def _await_outcome(self) -> None:
        """Wait for the finishing worker (take over if it died), then report its outcome."""
        assert self.writer is not None
        deadline = time.monotonic() + self.finish_wait
        while time.monotonic() < deadline:
            outcome = self.frontier.outcome()
            if outcome is not None:
                self.writer.manifest.status = outcome["status"]
                self.writer.manifest.documents = int(outcome.get("documents") or 0)
                if outcome.get("error"):
                    self._stats().set_value("commons/error", outcome["error"])
                    self._stats().set_value("commons/error_parts", outcome.get("parts"))
                return
            if self.frontier.drained() == FINISH_HERE:  # the finishing worker died
                self.coordinator.finisher = True
                self._finish()
                return
            time.sleep(0.2)
        logger.warning("no worker finished the snapshot within %.0fs", self.finish_wait)

    def _outcome(self, error: str | None = None, parts: Any = None) -> dict[str, Any]:
        assert self.writer is not None
        m = self.writer.manifest
        return {"status": m.status, "documents": m.documents, "parts": parts, "error": error,
                "snapshot_dir": str(self.writer.dir), "finished_by": self.frontier.worker}

    def _adopt_started_at(self) -> None:
        """The snapshot started when its first worker wrote the first manifest."""
        assert self.writer is not None
        if self.writer.manifest_path.exists():
            first = SnapshotManifest.read(self.writer.manifest_path)
            self.writer.manifest.started_at = first.started_at or self.writer.manifest.started_at

    def _merge_worker_stats(self) -> None:
        """Each worker's numeric stats (as of its last commit) under ``workers``, and the
        counters summed over workers at the top level (the crawl-wide Redis counters win:
        a worker may reap after its last commit)."""
        assert self.writer is not None
        per_worker = self.frontier.worker_stats()
        per_worker[self.frontier.worker] = self._numeric_stats()
        totals: dict[str, float] = {}
        for stats in per_worker.values():
            for key, value in stats.items():
                if "count" in key or key.startswith("frontier/"):
                    totals[key] = totals.get(key, 0) + value
        totals.update(self.frontier.counters())  # counted in Redis, exact across workers
        self.writer.manifest.stats.update(totals)
        self.writer.manifest.stats["workers"] = per_worker

    def _numeric_stats(self) -> dict[str, float]:
        return {k: v for k, v in self._stats().get_stats().items()
                if isinstance(v, int | float) and not isinstance(v, bool)}

    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats
