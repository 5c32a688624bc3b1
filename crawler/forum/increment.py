"""Incremental and resumed forum crawls: building on the snapshot chain, tombstones at the end.

:meth:`ForumPlan.choose` picks the mode before the crawl starts: a ``--resume`` continues
the unfinished snapshot with the base it recorded (documents already durable are skipped by
the pipeline); ``incremental`` builds on the source's snapshot chain, or falls back to a
full crawl and says why in ``parameters.incremental_fallback``. During an increment the
spider passes each post through :meth:`ForumPlan.keep`; when the crawl runs out of requests,
one last step writes the tombstones of base posts that were looked for and not seen again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from commons.exceptions import NoCompleteSnapshotError
from commons.store import SnapshotManifest, SnapshotStore
from crawler.forum.delta import BasePosts, ForumIncrement
from crawler.items import DocumentItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class ForumPlan:
    """The mode of one forum crawl and, in an increment, its base posts and tombstones.

    Args:
        spider_name: with ``base_url``, what a base chain must be a crawl of (its manifests'
            ``crawler`` and ``base_url``).
        parameters: the spider's parameters (recorded in the manifest).
    """

    def __init__(self, spider_name: str, base_url: str, incremental: bool,
                 parameters: dict[str, Any]) -> None:
        self.spider_name = spider_name
        self.base_url = base_url
        self.incremental = incremental
        self.parameters = parameters
        self.increment: ForumIncrement | None = None
        self.base_snapshot: str | None = None
        self._finishing = False

    # -- planning -----------------------------------------------------------------------

    def choose(self, store: SnapshotStore, source: str, resumed: SnapshotManifest | None,
               mismatch: Callable[[list[SnapshotManifest]], str | None],
               ) -> list[SnapshotManifest] | None:
        """Continue the unfinished snapshot ``resumed``, or build on the snapshot chain.

        Args:
            mismatch: why the spider cannot build on a chain (other settings), or None.

        Returns:
            The chain this crawl builds on, None for a full crawl.
        """
        chain: list[SnapshotManifest] | None = None
        if resumed is not None:
            self.incremental = bool(resumed.base_snapshot)
            if resumed.base_snapshot:
                chain = store.chain(source, resumed.base_snapshot)
        elif self.incremental:
            try:
                latest = store.latest_chain(source)
            except NoCompleteSnapshotError:
                self._fall_back("no complete snapshot of this source to build on")
            else:
                first = latest[0]
                why = (f"the base chain starts with {first.snapshot_id}, a {first.crawler} "
                       f"crawl of {first.base_url}"
                       if (first.crawler, first.base_url) != (self.spider_name, self.base_url)
                       else mismatch(latest))
                if why:
                    self._fall_back(why)
                else:
                    chain = latest
        if chain is not None:
            base = BasePosts.load(store, chain)
            self.base_snapshot = chain[-1].snapshot_id
            self.increment = ForumIncrement(base)
            self.parameters.update({"base_snapshot": self.base_snapshot,
                                    "base_posts": len(base)})
        self.parameters["mode"] = "incremental" if self.incremental else "full"
        return chain

    def _fall_back(self, reason: str) -> None:
        """Make this incremental crawl a full one, and say why in the manifest."""
        logger.warning("incremental crawl falls back to a full crawl: %s", reason)
        self.incremental = False
        self.parameters["incremental_fallback"] = reason

    # -- during the crawl ---------------------------------------------------------------

    def keep(self, item: DocumentItem, stats: StatsCollector | None) -> bool:
        """Whether to write ``item``: always in a full crawl; if new or changed otherwise."""
        if self.increment is None or self.increment.keep(item):
            return True
        assert stats is not None
        stats.inc_value("forum/posts_unchanged")
        return False

    # -- the end ------------------------------------------------------------------------

    def connect_finish(self, crawler: Crawler,
                       step: Callable[[Response], Iterator[DocumentItem]]) -> None:
        """When an increment runs out of requests, crawl one last request whose callback
        ``step`` (a spider method) yields :meth:`tombstones` (connect after the spider's own
        ``spider_idle`` checks)."""
        self._crawler = crawler
        self._step = step
        crawler.signals.connect(self._idle, signal=signals.spider_idle)

    def _idle(self, spider: Any = None) -> None:
        crawler = self._crawler
        stats = crawler.stats
        if self.increment is None or self._finishing or stats is None:
            return
        if stats.get_value("commons/error"):
            return
        self._finishing = True
        assert crawler.engine is not None
        crawler.engine.crawl(Request("data:,", callback=self._step, dont_filter=True,
                                     meta={"dont_obey_robotstxt": True}))
        raise DontCloseSpider

    def tombstones(self, threads: set[str] | None, license: str | None,
                   stats: StatsCollector | None) -> Iterator[DocumentItem]:
        """A tombstone for each base post not seen again (in ``threads``, if given)."""
        assert self.increment is not None and stats is not None
        fetched = datetime.now(UTC)
        for doc_id, thread in self.increment.gone(threads):
            stats.inc_value("forum/tombstones")
            yield DocumentItem(doc_id=doc_id, kind="post", url=None, title=None, text="",
                               fetched_at=fetched, license=license, parent_id=thread,
                               is_deleted=True)
