"""Extensions: Crawl-delay enforcement on top of AutoThrottle, and the progress bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from scrapy import Request, Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.extensions.throttle import AutoThrottle
from tqdm import tqdm

from crawler.items import DocumentItem, SnapshotInfoItem

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser


class PoliteAutoThrottle(AutoThrottle):
    """AutoThrottle that never goes below a site's robots.txt ``Crawl-delay``.

    Scrapy parses robots.txt but ignores Crawl-delay (scrapy issue 892). On the
    ``robots_parsed`` signal this records the delay for the site's download slot, raises the
    slot's delay to it and turns jitter off for that slot (jitter could undercut it). The
    delay is capped by ``CRAWL_DELAY_MAX``. With ``AUTOTHROTTLE_ENABLED = False`` the delay
    is not adapted to latency, but Crawl-delay is still enforced after every response.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.floors: dict[str, float] = {}
        self.cap = crawler.settings.getfloat("CRAWL_DELAY_MAX", 60.0)
        self.adaptive = crawler.settings.getbool("AUTOTHROTTLE_ENABLED")
        if self.adaptive:
            super().__init__(crawler)
        else:
            crawler.signals.connect(self._floor_only, signal=signals.response_downloaded)
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    def _robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        agent = self.crawler.settings.get("ROBOTSTXT_USER_AGENT") or self.crawler.settings.get(
            "USER_AGENT"
        )
        delay = robotparser.crawl_delay(agent)
        if not delay:
            return
        key = urlparse(request.url).hostname or ""  # Scrapy's default download slot key
        floor = min(float(delay), self.cap)
        self.floors[key] = floor
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("crawl_delay/enforced", floor)
        slot = self._slot(key)
        if slot is not None:
            self._apply_floor(slot, floor)

    def _floor_only(self, response: Response, request: Request, spider: Spider) -> None:
        key = urlparse(request.url).hostname or ""
        slot = self._slot(key)
        if slot is not None and key in self.floors:
            self._apply_floor(slot, self.floors[key])

    @staticmethod
    def _apply_floor(slot: Slot, floor: float) -> None:
        slot.delay = max(slot.delay, floor)
        slot.jitter = 0.0

    def _slot(self, key: str) -> Slot | None:
        engine = self.crawler.engine
        return engine.downloader.slots.get(key) if engine is not None else None

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, response)
        floor = self.floors.get(urlparse(response.url).hostname or "", 0.0)
        if floor:
            self._apply_floor(slot, floor)


class ProgressBar:
    """A tqdm bar of documents written, with the site's page count as the total."""

    def __init__(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("COMMONS_PROGRESS"):
            raise NotConfigured
        self.bar: tqdm[Any] | None = None
        self.crawler = crawler
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._scraped, signal=signals.item_scraped)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressBar:
        return cls(crawler)

    def _opened(self, spider: Spider) -> None:
        self.bar = tqdm(desc=f"crawl {getattr(spider, 'source', spider.name)}", unit="doc")

    def _scraped(self, item: Any, spider: Spider) -> None:
        if self.bar is None:
            return
        if isinstance(item, SnapshotInfoItem) and item.expected_documents:
            limit = getattr(spider, "limit", None)
            total = min(item.expected_documents, limit) if limit else item.expected_documents
            self.bar.total = total
            self.bar.refresh()
        elif isinstance(item, DocumentItem):
            self.bar.update(1)

    def _closed(self, spider: Spider) -> None:
        if self.bar is not None:
            self.bar.close()
