"""The extension that keeps one worker of a distributed crawl in step with the others.

It joins the source's crawl (or starts one), keeps a heartbeat (a thread, so a long parse
in the reactor never makes a live worker look dead), requeues the leases of dead workers,
stops this worker when another one recorded a failure, and on ``spider_idle`` makes this
worker's rows durable and asks Redis whether the whole frontier is drained; of all the
workers that see it drained, exactly one finishes the snapshot.

Settings: ``FRONTIER_HEARTBEAT_TTL`` (seconds without a heartbeat before a worker counts as
dead and its leases are requeued, default 10), ``FRONTIER_POLL_INTERVAL`` (seconds between
checks for new shared work, dead workers and failures, default 0.5).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from commons.exceptions import ConfigError
from commons.store import DataDir, new_snapshot_id
from crawler.frontier.client import Frontier, connect, new_worker_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: ``drained()`` answers.
WORK_LEFT, DRAINED_ELSEWHERE, FINISH_HERE, FAILED = 0, 1, 2, 3


@dataclass
class Lease:
    """A leased request in this process: is its callback done, how many items in flight."""

    done: bool = False
    items: int = 0


class Coordinator:
    """Joins the crawl, heartbeats, reaps, watches for failure, and detects the end."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        spider: Any = crawler.spider
        assert spider is not None
        self.crawler = crawler
        self.ttl_ms = int(settings.getfloat("FRONTIER_HEARTBEAT_TTL", 10.0) * 1000)
        self.poll_s = settings.getfloat("FRONTIER_POLL_INTERVAL", 0.5)
        self.frontier = Frontier(connect(settings["COMMONS_FRONTIER"]), spider.source,
                                 new_worker_name())
        data = DataDir(settings.get("COMMONS_DATA") or "data")
        candidate = getattr(spider, "snapshot_id", None) or new_snapshot_id(data, spider.source)
        #: Whether this worker started the crawl (and writes its first manifest).
        self.created = self.frontier.join(candidate)
        if getattr(spider, "snapshot_id", None) not in (None, self.frontier.snapshot_id):
            raise ConfigError(f"a distributed crawl of {spider.source!r} is running as snapshot "
                              f"{self.frontier.snapshot_id}; drop --snapshot-id to join it")
        spider.snapshot_id = self.frontier.snapshot_id
        self.leases: dict[str, Lease] = {}
        self._item_lease: dict[int, str] = {}
        #: Called when leases may have become ackable (the pipeline flushes).
        self.on_progress: Callable[[], None] | None = None
        #: Called on idle: make everything ackable durable now.
        self.on_idle: Callable[[], None] | None = None
        self.finisher = False
        self._stop = threading.Event()
        # Registered before the scheduler can lease anything: the drained check only sees
        # the leases of registered workers.
        self.frontier.heartbeat(self.ttl_ms)
        self._beat = threading.Thread(target=self._heartbeat, name="frontier-heartbeat",
                                      daemon=True)
        self._beat.start()
        self._poll: task.LoopingCall | None = None
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._idle, signal=signals.spider_idle)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_finished, signal=signal)
        logger.info("worker %s joined %s (%s)", self.frontier.worker, self.frontier.prefix,
                    "started it" if self.created else "in progress")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Coordinator:
        return cls(crawler)

    # -- leases -------------------------------------------------------------------------------

    def accepting(self) -> bool:
        """Whether this worker may lease shared requests (its spider finished starting up)."""
        return bool(getattr(self.crawler.spider, "frontier_ready", True))

    def lease_taken(self, lease: str) -> None:
        self.leases[lease] = Lease()

    def lease_dropped(self, lease: str) -> None:
        self.leases.pop(lease, None)

    def item_started(self, item: Any, lease: str) -> None:
        if lease in self.leases:
            self.leases[lease].items += 1
            self._item_lease[id(item)] = lease

    def lease_of(self, item: Any) -> str | None:
        return self._item_lease.get(id(item))

    def _item_finished(self, item: Any, **_: Any) -> None:
        lease = self._item_lease.pop(id(item), None)
        if lease in self.leases:
            self.leases[lease].items -= 1
            self._progress()

    def lease_done(self, lease: str) -> None:
        if lease in self.leases:
            self.leases[lease].done = True
            self._progress()

    def ackable(self) -> list[str]:
        """Leases whose callback is done and whose items all passed the pipeline."""
        return [k for k, v in self.leases.items() if v.done and v.items <= 0]

    def forget(self, leases: list[str]) -> None:
        for lease in leases:
            self.leases.pop(lease, None)

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress()

    # -- lifecycle ----------------------------------------------------------------------------

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_ms / 5000):
            try:
                if not self.frontier.heartbeat(self.ttl_ms):
                    return  # the crawl is over
            except Exception as exc:  # Redis gone for a moment: the next beat retries
                logger.warning("frontier heartbeat failed: %s", exc)

    def _opened(self, spider: Spider) -> None:
        self._poll = task.LoopingCall(self._check)
        self._poll.start(self.poll_s, now=False)

    def _check(self) -> None:
        """Requeue dead workers' leases, stop on another worker's failure, look for work."""
        engine = self.crawler.engine
        try:
            self._reap()
            failure = self.frontier.failure()
        except Exception as exc:
            logger.warning("frontier check failed: %s", exc)
            return
        if engine is None or engine.spider is None:
            return
        if failure is not None:
            self.adopt_failure(failure)
            self.stop_polling()
            deferred_from_coro(engine.close_spider_async(reason="error"))
            return
        if not self.finisher and self.frontier.outcome() is not None:  # finished without us
            self.stop_polling()
            deferred_from_coro(engine.close_spider_async(reason="finished"))
            return
        # Scrapy looks at the scheduler again only every 5 s when idle; new shared work
        # should be picked up sooner.
        slot = getattr(engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _reap(self) -> None:
        moved = self.frontier.reap()
        if moved:
            logger.warning("requeued %d leased requests of workers that stopped", moved)
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("frontier/reaped", moved)

    def adopt_failure(self, failure: dict[str, Any]) -> None:
        """Report another worker's failure as this worker's error (one line in the CLI)."""
        stats = self.crawler.stats
        assert stats is not None
        if not stats.get_value("commons/error"):
            stats.set_value("commons/error", failure["message"])
            stats.set_value("commons/error_parts", failure["parts"])
        stats.set_value("frontier/failed_elsewhere", True)

    def _idle(self, spider: Spider) -> None:
        # Nothing is in progress in this process: every lease's callback is done and its
        # items have passed the pipeline.
        for lease in self.leases.values():
            lease.done, lease.items = True, 0
        if self.on_idle is not None:
            self.on_idle()
        if not self.accepting():
            raise CloseSpider("frontier_not_ready")
        self._reap()
        state = self.frontier.drained()
        if state == WORK_LEFT:
            raise DontCloseSpider
        if state == FAILED:
            failure = self.frontier.failure()
            if failure is not None:
                self.adopt_failure(failure)
            raise CloseSpider("error")
        self.finisher = state == FINISH_HERE
        if self.finisher:
            logger.info("frontier drained: worker %s finishes the snapshot", self.frontier.worker)

    def stop_polling(self) -> None:
        if self._poll is not None and self._poll.running:
            self._poll.stop()

    def close(self) -> None:
        """Stop the heartbeat and polling (after the pipeline has finished with Redis)."""
        self.stop_polling()
        self._stop.set()
