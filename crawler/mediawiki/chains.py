"""A distributed MediaWiki crawl: one chain of batch requests per namespace.

With ``COMMONS_FRONTIER`` set (see :mod:`crawler.frontier`) every worker does its own
start-up (robots.txt, entry page, API discovery, licence: all local requests) and then
yields the first batch request of each namespace into the shared frontier, where the
duplicate filter keeps one of each. Whichever worker leases a batch yields the next batch's
request first (so another worker can fetch it while this one parses), then the batch's
pages. The rest of a batch that the API split (no ``batchcomplete``, e.g. pages with many
contributors) is a local request that carries the batch's lease on, so its parts are merged
in one process; a worker killed meanwhile has the whole batch fetched again by another.

The requests and their callbacks are the spider's
(:meth:`crawler.spiders.mediawiki.MediaWikiSpider.parse_chain`): scrapy-redis serialises
shared requests, and a serialised callback must be a method of the spider.
"""

from __future__ import annotations

from crawler.frontier.client import refuse_unsupported


class SharedChains:
    """Whether this crawl is one worker of a distributed crawl, and whether it may lease
    shared requests yet (the frontier's coordinator asks the spider's ``frontier_ready``)."""

    def __init__(self) -> None:
        #: This process is a worker of a distributed crawl.
        self.distributed = False
        #: It may lease shared requests: a worker leases none until it knows the API and
        #: the licence.
        self.ready = True

    def join(self, limit: int | None, incremental: bool, resuming: bool) -> None:
        """Be a worker: refuse what a distributed crawl does not support, lease nothing yet.

        Raises:
            ConfigError: ``--limit``, ``--incremental`` or ``--resume`` was given.
        """
        self.distributed = True
        refuse_unsupported(limit, incremental, resuming)
        self.ready = False

    def start(self) -> None:
        """The start-up is done: lease shared requests from now on."""
        self.ready = True
