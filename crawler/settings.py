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
#: With COMMONS_FRONTIER set, this add-on makes the crawl one worker of a distributed crawl
#: (crawler/frontier/); without it, nothing changes and no Redis is needed.
ADDONS = {
    "crawler.frontier.addon.FrontierAddon": 0,
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
#: Redis URL of a frontier shared by several crawler processes (``--frontier``); None: local.
COMMONS_FRONTIER = None
#: Seconds without a heartbeat before a worker counts as dead and its requests are requeued.
FRONTIER_HEARTBEAT_TTL = float(os.environ.get("FRONTIER_HEARTBEAT_TTL", "10"))
#: Seconds between a worker's checks for shared work, dead workers and failures.
FRONTIER_POLL_INTERVAL = 0.5
#: Seconds a worker that saw the frontier drained waits for the one finishing the snapshot.
FRONTIER_FINISH_WAIT = 300.0
#: Forums --incremental: seconds of activity re-read before the base snapshot's start.
FORUM_INCREMENTAL_MARGIN = 300.0
#: Scrapy's remote-control server leaves job files behind a killed crawl; snapshots have
#: their own manifest, so it stays off.
REMOTE_CONTROL_ENABLED = False
