"""Downloader middlewares that make crawling polite beyond Scrapy's defaults."""

from __future__ import annotations

import asyncio
import logging
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: Signal sent by :class:`RetryAfterMiddleware` when a server asks it to wait: no request to
#: the site of ``request`` may go out for ``wait`` seconds. A distributed crawl holds the site
#: back for every worker on it (:class:`crawler.frontier.politeness.SharedPoliteness`).
site_held_back = object()


def parse_retry_after(value: str | bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None.

    >>> parse_retry_after(b"5")
    5.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class RetryAfterMiddleware:
    """Honour ``Retry-After`` on 429/503 and MediaWiki ``maxlag`` answers.

    The request is retried after the server's delay, and the site's download slot is held
    back until then, so no other request to that site goes out early (and the
    :data:`site_held_back` signal is sent). Scrapy's own RetryMiddleware ignores the header
    (scrapy issue 3849).

    Settings: ``RETRY_AFTER_MAX`` (longest wait accepted, seconds; longer gives up),
    ``RETRY_AFTER_TIMES`` (retries per request), ``RETRY_AFTER_DEFAULT`` (wait for a maxlag
    answer without the header).
    """

    STATUSES = frozenset({429, 503})

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("RETRY_AFTER_MAX", 300.0)
        self.max_times = crawler.settings.getint("RETRY_AFTER_TIMES", 10)
        self.default_wait = crawler.settings.getfloat("RETRY_AFTER_DEFAULT", 5.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def _wait_for(self, response: Response) -> float | None:
        retry_after = parse_retry_after(response.headers.get(b"Retry-After"))
        api_error = (response.headers.get(b"MediaWiki-API-Error") or b"").decode("latin-1")
        if api_error == "maxlag":
            return retry_after if retry_after is not None else self.default_wait
        if response.status in self.STATUSES and retry_after is not None:
            return retry_after
        return None

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        wait = self._wait_for(response)
        if wait is None:
            return response
        stats = self.crawler.stats
        assert stats is not None
        tries = request.meta.get("retry_after_times", 0) + 1
        if tries > self.max_times or wait > self.max_wait:
            stats.inc_value("retry_after/given_up")
            raise IgnoreRequest(
                f"{request.url}: server asked to retry after {wait:.0f}s "
                f"(attempt {tries}); giving up, try again later"
            )
        stats.inc_value("retry_after/count")
        stats.max_value("retry_after/max_wait", wait)
        self._hold_slot(request, wait)
        logger.info("Retry-After %.1fs for %s (attempt %d)", wait, request.url, tries)
        await asyncio.sleep(wait)
        retry = request.replace(dont_filter=True, priority=request.priority + 1)
        retry.meta["retry_after_times"] = tries
        return retry

    def _hold_slot(self, request: Request, wait: float) -> None:
        """Hold back every other request to the same site until now + wait, and say so
        (:data:`site_held_back`)."""
        engine = self.crawler.engine
        if engine is None:
            return
        self.crawler.signals.send_catch_log(site_held_back, request=request, wait=wait)
        key = request.meta.get("download_slot")
        slot = engine.downloader.slots.get(key) if key else None
        if slot is None:
            return
        # Scrapy sends from a slot when monotonic() >= lastseen + delay (delay > 0).
        slot.lastseen = max(slot.lastseen, time.monotonic() + wait - slot.delay)
