"""Politeness per site across every worker of a distributed crawl.

One crawler's rules, enforced in Redis for all of them together: one request at a time to a
site, and request starts at least the site's delay apart (``DOWNLOAD_DELAY``, raised by
AutoThrottle and by robots.txt ``Crawl-delay``), timed by Redis's clock, so the machines'
clocks don't matter. A ``Retry-After`` pushes the site's next start back for everyone.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING

from scrapy import Request, Spider, signals
from scrapy.http import Response

from crawler.extensions import PoliteAutoThrottle
from crawler.frontier.coordinator import Coordinator
from crawler.middlewares import site_held_back

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

# KEYS: busy, next, floor, finished; ARGV: token, delay_ms, floor_ms, lock_ttl_ms, holder's
# alive key. 0 = go; else ms to wait. The floor is the largest delay any worker of the crawl
# learnt (Crawl-delay). A lock whose holder's heartbeat expired (a killed worker) is taken
# over instead of blocking the site until it times out.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local floor = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), tonumber(ARGV[3]))
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[3], floor, 'PX', 3600000) end
local held = redis.call('GET', KEYS[1])
if held then
  local bar = string.find(held, '|', 1, true)
  if bar and redis.call('EXISTS', string.sub(held, 1, bar - 1)) == 1 then
    return math.max(1, math.min(redis.call('PTTL', KEYS[1]), 50))
  end
end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < nxt then return nxt - now end
local delay = math.max(tonumber(ARGV[2]), floor)
redis.call('SET', KEYS[1], ARGV[5] .. '|' .. ARGV[1], 'PX', ARGV[4])
redis.call('SET', KEYS[2], now + delay, 'PX', delay + 60000)
return 0
"""
# KEYS: busy, next; ARGV: token, delay_ms, ms since the request left (-1: unknown).
# The turn was stamped when it was taken; the request may have left a little later (a busy
# process), so the next start is counted again from when it left.
RELEASE = """
local held = redis.call('GET', KEYS[1])
if not held or string.sub(held, -string.len(ARGV[1])) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[3]) >= 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local want = now - tonumber(ARGV[3]) + tonumber(ARGV[2])
  if want > tonumber(redis.call('GET', KEYS[2]) or '0') then
    redis.call('SET', KEYS[2], want, 'PX', tonumber(ARGV[2]) + 60000)
  end
end
return 1
"""
# KEYS: next; ARGV: wait_ms. next = max(next, now + wait).
HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local want = now + tonumber(ARGV[1])
if want > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], want, 'PX', tonumber(ARGV[1]) + 60000)
end
return want
"""


class SharedPoliteness:
    """Downloader middleware (just before the downloader): take the site's turn in Redis.

    The local download slot then sends at once (its own delay would only add to the shared
    one); its delay is still read, so AutoThrottle and Crawl-delay raise the shared delay.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.download_delay = settings.getfloat("DOWNLOAD_DELAY", 1.0)
        self.lock_ttl_ms = int((settings.getfloat("DOWNLOAD_TIMEOUT", 60.0) + 5.0) * 1000)
        coordinator = crawler.get_extension(Coordinator)
        assert coordinator is not None
        self.frontier = coordinator.frontier
        client = self.frontier.redis
        self._acquire = client.register_script(ACQUIRE)
        self._release = client.register_script(RELEASE)
        self._hold = client.register_script(HOLD)
        # One waiter per site in this process: otherwise a worker with several requests
        # waiting would have several chances to the others' one.
        self._waiting: dict[str, asyncio.Lock] = {}
        self._held: dict[str, tuple[list[str], int]] = {}  # token -> (keys, delay_ms)
        self._answered: set[str] = set()  # sites this process has had a response from
        crawler.signals.connect(self.hold, signal=site_held_back)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPoliteness:
        return cls(crawler)

    def _site(self, request: Request) -> str:
        engine = self.crawler.engine
        assert engine is not None
        return str(engine.downloader.get_slot_key(request))

    def _keys(self, site: str) -> list[str]:
        return [f"commons:site:{site}:busy", f"commons:site:{site}:next",
                self.frontier.key(f"floor:{site}"), self.frontier.key("finished")]

    def _delays(self, site: str) -> tuple[float, float]:
        """(this worker's current delay for the site, the site's floor)."""
        throttle = self.crawler.get_extension(PoliteAutoThrottle)
        crawl_delay = throttle.floors.get(site, 0.0) if throttle is not None else 0.0
        floor = max(self.download_delay, crawl_delay)
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(site) if engine is not None else None
        return max(floor, slot.delay if slot is not None else 0.0), floor

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        site = self._site(request)
        keys = self._keys(site)
        token = uuid.uuid4().hex
        started = time.monotonic()
        async with self._waiting.setdefault(site, asyncio.Lock()):
            while True:
                delay, floor = self._delays(site)
                delay_ms = int(max(delay, floor) * 1000)
                wait = int(self._acquire(keys=keys, args=[
                    token, delay_ms, int(floor * 1000), self.lock_ttl_ms, self.frontier.alive]))
                if wait == 0:
                    break
                await asyncio.sleep(min(wait, 1000) / 1000)
        request.meta["_site_turn"] = token
        self._held[token] = (keys, delay_ms)
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(site) if engine is not None else None
        if slot is not None:  # the shared turn already spaced this request: send it now
            slot.lastseen = 0.0
            if slot.latercall is not None:
                slot.latercall.cancel()
                slot.latercall = None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("frontier/polite_wait_ms",
                                     int((time.monotonic() - started) * 1000))

    def _done(self, request: Request, since_sent: float | None = None) -> None:
        token = request.meta.pop("_site_turn", None)
        held = self._held.pop(token, None) if token else None
        if held is not None:
            keys, delay_ms = held
            elapsed_ms = -1 if since_sent is None else int(since_sent * 1000)
            self._release(keys=keys[:2], args=[token, delay_ms, elapsed_ms])

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        # download_latency runs from just before the request is written to its response's
        # headers, so now - latency is about when it left. The first request to a site
        # leaves later than that (connection set-up, the handler's first use): count the
        # next start from now.
        site = self._site(request)
        latency = request.meta.get("download_latency") if site in self._answered else 0.0
        self._answered.add(site)
        self._done(request, latency)
        return response

    def process_exception(self, request: Request, exception: Exception,
                          spider: Spider | None = None) -> None:
        self._done(request)

    def hold(self, request: Request, wait: float) -> None:
        """Hold the request's site back for every worker until now + ``wait`` seconds (on the
        :data:`crawler.middlewares.site_held_back` signal)."""
        site = self._site(request)
        self._hold(keys=[self._keys(site)[1]], args=[int(wait * 1000)])

    def _closed(self, spider: Spider) -> None:
        for token, (keys, delay_ms) in list(self._held.items()):
            self._release(keys=keys[:2], args=[token, delay_ms, -1])
        self._held.clear()
