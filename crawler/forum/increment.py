"""Incremental and resumed forum crawls: building on the snapshot chain, tombstones at the end.

Mixed into the forum spiders (before :class:`crawler.spiders.base.CommonsSpider`). ``prepare()``
picks the mode: a ``--resume`` continues the unfinished snapshot with the base it recorded
(documents already durable are skipped by the pipeline); ``incremental`` builds on the
source's snapshot chain, or falls back to a full crawl and says why in
``parameters.incremental_fallback``. During an increment the spider passes each post through
:meth:`IncrementalForumCrawl.keep`; when the crawl runs out of requests, one last step
writes the tombstones of base posts that were looked for and not seen again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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

logger = logging.getLogger(__name__)


def truthy(value: Any) -> bool:
    """A spider argument as a boolean (``-a incremental=true``)."""
    return str(value).lower() in {"1", "true", "yes", "on"}


class IncrementalForumCrawl:
    """Mode planning, the base's posts, and the final tombstones of a forum spider."""

    incremental: bool = False
    increment: ForumIncrement | None = None
    base_snapshot: str | None = None
    license: str | None = None
    _finishing: bool = False

    if TYPE_CHECKING:
        name: str
        source: str
        base_url: str
        store: SnapshotStore
        parameters: dict[str, Any]
        resume_manifest: SnapshotManifest | None
        crawler: Crawler

    def chain_mismatch(self, chain: list[SnapshotManifest]) -> str | None:
        """Hook: why this crawl cannot build on ``chain`` (other settings), or None."""
        return None

    def plan_on_base(self, chain: list[SnapshotManifest],
                     recorded: dict[str, Any] | None) -> None:
        """Hook: what the spider needs from the base; ``recorded`` are the parameters of a
        resumed increment (reuse its plan), None for a new one."""

    def tombstone_scope(self) -> set[str] | None:
        """Hook: the threads whose vanished posts are tombstoned (None: every thread)."""
        return None

    # -- planning -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Continue an unfinished snapshot, or build on the source's snapshot chain."""
        resumed = self.resume_manifest
        if resumed is not None:
            self.incremental = bool(resumed.base_snapshot)
            if resumed.base_snapshot:
                self._use_base(self.store.chain(self.source, resumed.base_snapshot),
                               resumed.parameters)
        elif self.incremental:
            try:
                chain = self.store.latest_chain(self.source)
            except NoCompleteSnapshotError:
                self._fall_back("no complete snapshot of this source to build on")
            else:
                first = chain[0]
                why = (f"the base chain starts with {first.snapshot_id}, a {first.crawler} "
                       f"crawl of {first.base_url}"
                       if (first.crawler, first.base_url) != (self.name, self.base_url)
                       else self.chain_mismatch(chain))
                if why:
                    self._fall_back(why)
                else:
                    self._use_base(chain, None)
        self.parameters["mode"] = "incremental" if self.incremental else "full"

    def _use_base(self, chain: list[SnapshotManifest], recorded: dict[str, Any] | None) -> None:
        base = BasePosts.load(self.store, chain)
        self.base_snapshot = chain[-1].snapshot_id
        self.increment = ForumIncrement(base)
        self.parameters.update({"base_snapshot": self.base_snapshot, "base_posts": len(base)})
        self.plan_on_base(chain, recorded)

    def _fall_back(self, reason: str) -> None:
        """Make this incremental crawl a full one, and say why in the manifest."""
        logger.warning("incremental crawl falls back to a full crawl: %s", reason)
        self.incremental = False
        self.parameters["incremental_fallback"] = reason

    # -- during the crawl ---------------------------------------------------------------

    def keep(self, item: DocumentItem) -> bool:
        """Whether to write ``item``: always in a full crawl; if new or changed otherwise."""
        if self.increment is None or self.increment.keep(item):
            return True
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("forum/posts_unchanged")
        return False

    def connect_finish(self, crawler: Crawler) -> None:
        """Write the tombstones when the crawl runs out of requests (connect last)."""
        crawler.signals.connect(self._idle, signal=signals.spider_idle)

    def _idle(self, spider: Any = None) -> None:
        stats = self.crawler.stats
        if self.increment is None or self._finishing or stats is None:
            return
        if stats.get_value("commons/error"):
            return
        self._finishing = True
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(Request("data:,", callback=self._tombstones, dont_filter=True,
                                          meta={"dont_obey_robotstxt": True}))
        raise DontCloseSpider

    def _tombstones(self, response: Response) -> Iterator[DocumentItem]:
        assert self.increment is not None and self.crawler.stats is not None
        fetched = datetime.now(UTC)
        for doc_id, thread in self.increment.gone(self.tombstone_scope()):
            self.crawler.stats.inc_value("forum/tombstones")
            yield DocumentItem(doc_id=doc_id, kind="post", url=None, title=None, text="",
                               fetched_at=fetched, license=self.license, parent_id=thread,
                               is_deleted=True)
