"""The Scrapy add-on that makes a crawl one worker of a distributed crawl (``COMMONS_FRONTIER``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from commons.exceptions import ConfigError
from crawler.frontier.client import connect
from crawler.frontier.coordinator import Coordinator
from crawler.frontier.pipeline import SharedSnapshotPipeline
from crawler.frontier.politeness import SharedPoliteness
from crawler.pipelines import ParquetSnapshotPipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings


class FrontierAddon:
    """Scrapy add-on: with ``COMMONS_FRONTIER`` set, this crawl is a distributed worker.

    Off (``NotConfigured``) without the setting, so the local engine needs no Redis.
    Only spiders with ``supports_frontier = True`` can be distributed.
    """

    def __init__(self, crawler: Crawler) -> None:
        url = crawler.settings.get("COMMONS_FRONTIER")
        if not url:
            raise NotConfigured
        spider = crawler.spider
        if not getattr(spider, "supports_frontier", False):
            name = getattr(spider, "name", "?")
            raise ConfigError(f"the {name} spider cannot share a frontier; drop --frontier "
                              "(COMMONS_FRONTIER): only mediawiki crawls can be distributed")
        connect(url).close()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierAddon:
        return cls(crawler)

    def update_settings(self, settings: Settings) -> None:
        # Imported here: it imports scrapy-redis, which a local crawl neither needs nor loads.
        from crawler.frontier.scheduler import LeaseSpiderMiddleware

        settings.set("SCHEDULER", "crawler.frontier.scheduler.LeaseScheduler", "project")
        settings.set_in_component_priority_dict("EXTENSIONS", Coordinator, 10)
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", LeaseSpiderMiddleware, 1000)
        settings.set_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", SharedPoliteness, 990)
        settings.replace_in_component_priority_dict("ITEM_PIPELINES", ParquetSnapshotPipeline,
                                                    SharedSnapshotPipeline)
        # Fewer requests leased per worker: less to fetch again after a worker dies.
        settings.set("CONCURRENT_REQUESTS", 2, "project")
        # Scrapy's remote control leaves job files behind killed workers.
        settings.set("REMOTE_CONTROL_ENABLED", False, "project")
