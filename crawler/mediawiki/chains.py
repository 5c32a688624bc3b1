"""A distributed MediaWiki crawl: one chain of batch requests per namespace.

With ``COMMONS_FRONTIER`` set (see :mod:`crawler.frontier`) every worker does its own
start-up (robots.txt, entry page, API discovery, licence: all local requests) and then
yields the first batch request of each namespace into the shared frontier, where the
duplicate filter keeps one of each. Whichever worker leases a batch yields the next batch's
request first (so another worker can fetch it while this one parses), then the batch's
pages. The rest of a batch that the API split (no ``batchcomplete``, e.g. pages with many
contributors) is a local request that carries the batch's lease on, so its parts are merged
in one process; a worker killed meanwhile has the whole batch fetched again by another.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response

from crawler.frontier.client import refuse_unsupported
from crawler.items import DocumentItem
from crawler.mediawiki.recentchanges import PAGE_PROPS

if TYPE_CHECKING:
    from commons.store import SnapshotManifest

Pending = dict[int, dict[str, Any]]


class SharedChains:
    """The MediaWiki spider's requests as one worker of a distributed crawl.

    Mixed into :class:`crawler.spiders.mediawiki.MediaWikiSpider`; the stubs below name what
    it uses from the spider.
    """

    #: Can be one worker of a distributed crawl (checked by the frontier add-on).
    supports_frontier = True
    #: This process is a worker of a distributed crawl.
    distributed = False
    #: Leases shared requests only once it knows the API and the licence.
    frontier_ready = True
    namespaces: list[int]
    limit: int | None
    incremental: bool

    if TYPE_CHECKING:
        resume_manifest: SnapshotManifest | None

        @property
        def batch(self) -> int: ...
        def _api_request(self, params: dict[str, Any], callback: Any, *, shared: bool = False,
                         **cb_kwargs: Any) -> Request: ...
        def _api_answer(self, response: Response, advice: str) -> dict[str, Any]: ...
        def _merge(self, page: dict[str, Any], pending: Pending | None = None) -> None: ...
        def _emit_batch(self, pending: Pending | None = None) -> Iterator[DocumentItem]: ...

    def _check_distributed(self) -> None:
        """Refuse what a distributed crawl does not support; wait for the start-up."""
        refuse_unsupported(self.limit, self.incremental, self.resume_manifest is not None)
        self.frontier_ready = False

    def start_chains(self) -> Iterator[Request]:
        """The first batch of every namespace (each worker yields them; one of each stays)."""
        self.frontier_ready = True
        for namespace in self.namespaces:
            yield self._chain_request(namespace, {})

    def _chain_request(self, namespace: int, cont: dict[str, Any],
                       pending: Pending | None = None) -> Request:
        params = {"generator": "allpages", "gapnamespace": namespace, "gaplimit": self.batch,
                  **PAGE_PROPS, **cont}
        if pending is not None:  # the rest of a batch: merged by this worker, same lease
            return self._api_request(params, self.parse_chain, namespace=namespace,
                                     pending=pending)
        return self._api_request(params, self.parse_chain, shared=True, namespace=namespace)

    def parse_chain(self, response: Response, namespace: int,
                    pending: Pending | None = None) -> Iterator[Any]:
        """One batch: the next batch's request first, then the batch's pages."""
        data = self._api_answer(response, "check the namespaces and the wiki's API settings")
        held: Pending = {} if pending is None else pending
        for page in data.get("query", {}).get("pages", []):
            self._merge(page, held)
        cont = data.get("continue")
        if cont and not data.get("batchcomplete"):
            yield self._chain_request(namespace, cont, pending=held)
            return
        if cont:
            yield self._chain_request(namespace, cont)
        yield from self._emit_batch(held)
