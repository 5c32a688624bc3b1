"""Scrapy settings for the commons-provenance crawler: polite by default.

Scrapy's own defaults are not polite (no robots.txt, no AutoThrottle, 8 requests at a time
per site, a library User-Agent). Everything here is explicit; see the README's
"Politeness" section before lowering any of it.
"""

from __future__ import annotations

import os

BOT_NAME = "commons-provenance"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

#: Product token matched against robots.txt groups. The full USER_AGENT (with the operator's
#: contact) is set by each spider from its required ``contact`` argument.
ROBOTSTXT_USER_AGENT = "commons-provenance"
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"
USER_AGENT = None  # refused: a spider sets it from --contact

CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1  # one request at a time per site
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.25
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CRAWL_DELAY_MAX = 60.0  # longest robots.txt Crawl-delay honoured as-is (seconds)
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_AFTER_MAX = 300.0
RETRY_AFTER_TIMES = 10
RETRY_AFTER_DEFAULT = 5.0
DOWNLOAD_TIMEOUT = 60
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # Sees 429/503/maxlag before Scrapy's RetryMiddleware (550) retries without waiting.
    "crawler.middlewares.RetryAfterMiddleware": 560,
}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.extensions.PoliteAutoThrottle": 0,
    "crawler.extensions.ProgressBar": 500,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ParquetSnapshotPipeline": 800,
}

#: Where snapshots are written (``--data``); defaults to $COMMONS_DATA or ./data.
COMMONS_DATA = os.environ.get("COMMONS_DATA", "data")
COMMONS_BATCH_ROWS = int(os.environ.get("COMMONS_BATCH_ROWS", "2000"))
#: MediaWiki: pages per API request (the API allows 50 with content).
MEDIAWIKI_BATCH = int(os.environ.get("MEDIAWIKI_BATCH", "50"))
#: MediaWiki --incremental: seconds of recent changes re-read before the base's start.
MEDIAWIKI_RC_MARGIN = 300.0
COMMONS_PROGRESS = False
#: Contact for the User-Agent when the spider is not given ``-a contact=...``.
COMMONS_CONTACT = os.environ.get("COMMONS_CONTACT")
