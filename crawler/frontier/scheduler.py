"""The scheduler and spider middleware of a distributed crawl (see :mod:`crawler.frontier`).

Only requests marked ``meta["frontier"] = "shared"`` go to Redis; every other request stays
in this process (robots.txt, the entry page, the API discovery: each worker needs its own).
A shared request popped from Redis is *leased*, not deleted: it stays in this worker's
inflight hash until the rows it produced are durable (:mod:`crawler.frontier.pipeline`),
so a worker killed at any point loses nothing; its leases go back to the queue.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.frontier.coordinator import Coordinator

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response


def is_shared(request: Request) -> bool:
    """Whether ``request`` goes through the shared frontier."""
    return request.meta.get("frontier") == "shared"


class LeaseScheduler(Scheduler):  # type: ignore[misc]
    """scrapy-redis's scheduler with leases, a local queue, and no flush on close.

    The shared queue and duplicate filter keep their scrapy-redis formats (a priority
    ZSET of pickled requests, a SET of fingerprints); the finishing worker deletes them.
    """

    def __init__(self, crawler: Crawler, coordinator: Coordinator) -> None:
        frontier = coordinator.frontier
        super().__init__(
            server=frontier.redis,
            persist=True,
            queue_key=frontier.key("requests"),
            dupefilter=RFPDupeFilter(frontier.redis, key=frontier.key("dupefilter")),
        )
        self.crawler = crawler
        self.stats = crawler.stats
        self.coordinator = coordinator
        self.frontier = frontier
        self.local: list[Request] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseScheduler:
        coordinator = crawler.get_extension(Coordinator)
        if coordinator is None:
            raise RuntimeError("LeaseScheduler needs the frontier Coordinator extension")
        return cls(crawler, coordinator)

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = PriorityQueue(self.server, spider, self.frontier.key("requests"))

    def close(self, reason: str) -> None:
        """Never flush: other workers still use the queue."""

    def enqueue_request(self, request: Request) -> bool:
        if not is_shared(request):
            self.local.append(request)
            return True
        data = self.queue._encode_request(request)
        score = -request.priority
        lease = request.meta.get("_lease")
        if lease is not None:
            # Leased work scheduled again (retry, redirect): one atomic hand-back; a lease
            # that was reaped meanwhile is someone else's now, so this copy is dropped.
            self.coordinator.lease_dropped(lease)
            request.meta.pop("_lease", None)
            data = self.queue._encode_request(request)
            return self.frontier.requeue_leased(lease, score, data)
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        if not self.frontier.enqueue(fingerprint, score, data):
            self.df.log(request, self.spider)
            return False
        self._count("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.pop(0)
        if not self.coordinator.accepting():
            return None
        lease = uuid.uuid4().hex
        data = self.frontier.pop_lease(lease)
        if data is None:
            return None
        request: Request = self.queue._decode_request(data)
        request.meta["_lease"] = lease
        self.coordinator.lease_taken(lease)
        self._count("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or (self.coordinator.accepting() and self.frontier.queued() > 0)

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)


class LeaseSpiderMiddleware:
    """Tells the coordinator which lease each item came from and when a lease's callback is
    done. A local request yielded by a leased callback (the rest of a MediaWiki batch)
    carries the lease on: the lease is done only when that request's callback is."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._coordinator: Coordinator | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseSpiderMiddleware:
        return cls(crawler)

    @property
    def coordinator(self) -> Coordinator:
        if self._coordinator is None:
            self._coordinator = self.crawler.get_extension(Coordinator)
            assert self._coordinator is not None
        return self._coordinator

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        request = response.request
        lease = request.meta.get("_lease") if request is not None else None
        handed_on = False
        async for out in result:
            if lease is not None:
                if isinstance(out, Request):
                    if not is_shared(out):
                        out.meta["_lease"] = lease
                        handed_on = True
                else:
                    self.coordinator.item_started(out, lease)
            yield out
        if lease is not None and not handed_on:
            self.coordinator.lease_done(lease)
