"""Snapshot a MediaWiki site through its Action API (one request at a time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlparse

from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from commons.exceptions import ConfigError
from commons.licenses import license_record
from crawler.consent.signals import terms_record
from crawler.items import DocumentItem, SnapshotInfoItem
from crawler.mediawiki.chains import SharedChains
from crawler.mediawiki.pages import PAGE_PROPS, PageBatch, page_document
from crawler.mediawiki.plan import MediaWikiPlan
from crawler.mediawiki.recentchanges import IncrementalPlan
from crawler.spiders.base import CommonsSpider, truthy

#: Messages naming the wiki's own copyright, disclaimer and privacy pages (its terms).
TERMS_MESSAGES = ("copyrightpage", "disclaimerpage", "privacypage")


class MediaWikiSpider(CommonsSpider):
    """Every page of the chosen namespaces, with its latest revision and contributors.

    Arguments: ``url`` (the site or its api.php), ``source``, ``contact``, ``namespaces``
    (comma-separated ids, default ``0``), ``limit`` (stop after N pages), ``incremental``
    (only what changed since the source's snapshot chain), ``resume``.

    A full crawl uses ``generator=allpages`` with ``prop=revisions|info|contributors``,
    ``formatversion=2``, ``maxlag=5`` and the whole ``continue`` object, merging the parts
    of a batch until ``batchcomplete``; pages are emitted in allpages order, so a killed
    crawl resumes after its last durable title (:mod:`crawler.mediawiki.plan`). An
    incremental crawl reads recent changes since the base (see
    :mod:`crawler.mediawiki.recentchanges`) and refetches those titles.
    Settings: ``MEDIAWIKI_BATCH`` (pages per request, at most 50),
    ``MEDIAWIKI_RC_MARGIN`` (seconds of recent changes re-read before the base's start).
    With ``COMMONS_FRONTIER`` it is one worker of a distributed crawl (see
    :mod:`crawler.mediawiki.chains`).
    """

    name = "mediawiki"
    probe_paths = ("/", "/api.php", "/w/api.php", "/wiki/")
    #: Can be one worker of a distributed crawl (checked by the frontier add-on).
    supports_frontier = True

    def __init__(self, *args: Any, namespaces: str | list[int] | None = None,
                 limit: str | int | None = None, incremental: Any = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            if isinstance(namespaces, list):
                wanted = [int(n) for n in namespaces]
            else:
                wanted = [int(n) for n in str(namespaces or "0").split(",") if n.strip()]
            self.limit = int(limit) if limit not in (None, "", 0, "0") else None
        except ValueError as exc:
            raise ConfigError(f"namespaces/limit must be integers ({exc})") from exc
        if self.limit is not None and self.limit < 0:
            raise ConfigError(f"--limit must be positive, got {self.limit}")
        incremental = truthy(incremental)
        if incremental and self.limit is not None:
            raise ConfigError("--incremental fetches every change since the last snapshot; "
                              "drop --limit")
        self.api_url: str | None = None
        self.license: str | None = None
        #: Timestamp of the wiki's oldest recent change (asked along with siteinfo).
        self.rc_oldest: str | None = None
        self.emitted = 0
        self.plan = MediaWikiPlan(wanted, incremental, self.parameters)
        self.chains = SharedChains()
        self.pending = PageBatch()
        self.parameters.update({"namespaces": list(wanted), "limit": self.limit,
                                "mode": "incremental" if self.plan.incremental else "full"})

    @property
    def batch(self) -> int:
        return max(1, min(50, self.settings.getint("MEDIAWIKI_BATCH", 50)))

    @property
    def base_snapshot(self) -> str | None:
        """The snapshot this one builds on (read by the snapshot pipeline)."""
        return self.plan.base_snapshot

    @property
    def frontier_ready(self) -> bool:
        """Whether this worker may lease shared requests (read by the frontier's coordinator)."""
        return self.chains.ready

    def prepare(self) -> None:
        """Plan the crawl before it starts; a distributed worker only checks its options."""
        if self.settings.get("COMMONS_FRONTIER"):
            self.chains.join(self.limit, self.plan.incremental, self.resume_manifest is not None)
            return
        self.plan.prepare(self.store, self.source, self.resume_manifest,
                          self.settings.getfloat("MEDIAWIKI_RC_MARGIN", 300.0))
        self.emitted = self.plan.durable

    # -- API discovery ------------------------------------------------------------------

    def crawl_site(self, entry: Response) -> Iterator[Any]:
        self._api_tried: list[str] = []
        yield self._siteinfo_request(self._api_candidates(entry))

    def _api_candidates(self, entry: Response) -> list[str]:
        if urlparse(self.base_url).path.endswith("api.php"):
            return [self.base_url]
        found: list[str] = []
        if hasattr(entry, "css"):
            href = entry.css('link[rel="EditURI"]::attr(href)').get()
            if href:
                # Keep only the path: the crawl never leaves the configured origin, even
                # when the wiki advertises its own $wgServer (behind a proxy or mirror).
                found.append(urljoin(self.origin, urlparse(urljoin(entry.url, href)).path))
        for path in ("/w/api.php", "/api.php"):
            candidate = urljoin(self.origin, path)
            if candidate not in found:
                found.append(candidate)
        return found

    def _siteinfo_request(self, candidates: list[str]) -> Request:
        params = {"action": "query", "meta": "siteinfo|allmessages",
                  "siprop": "general|rightsinfo|statistics|namespaces",
                  "ammessages": "|".join(TERMS_MESSAGES), "amenableparser": "1",
                  "format": "json", "formatversion": "2", "maxlag": "5"}
        if self.plan.changes is not None:  # how far back recent changes reach
            params.update({"list": "recentchanges", "rcdir": "newer", "rclimit": "1",
                           "rcprop": "timestamp"})
        return Request(f"{candidates[0]}?{urlencode(params)}", callback=self.parse_siteinfo,
                       errback=self._siteinfo_error, cb_kwargs={"candidates": candidates},
                       dont_filter=True)

    def _siteinfo_error(self, failure: Any) -> Iterator[Any]:
        candidates = failure.request.cb_kwargs["candidates"]
        if not failure.check(HttpError):
            self.on_error(failure)
        self._api_tried.append(f"{candidates[0]} (HTTP {failure.value.response.status})")
        if len(candidates) > 1:
            yield self._siteinfo_request(candidates[1:])
            return
        raise self._no_api()

    def _no_api(self) -> CloseSpider:
        return self.fail(self.base_url, "no MediaWiki Action API found (tried "
                         + ", ".join(self._api_tried) + ")",
                         "give the wiki's api.php URL, e.g. https://wiki.example.org/w/api.php")

    def parse_siteinfo(self, response: Response, candidates: list[str]) -> Iterator[Any]:
        data = _json(response) or {}
        general = data.get("query", {}).get("general")
        if not general:
            self._api_tried.append(f"{candidates[0]} (not a MediaWiki API answer)")
            if len(candidates) > 1:
                yield self._siteinfo_request(candidates[1:])
                return
            raise self._no_api()
        self.api_url = response.url.split("?")[0]
        self.rc_oldest = (data["query"].get("recentchanges") or [{}])[0].get("timestamp")
        rights = data["query"].get("rightsinfo", {})
        lic = license_record(rights.get("url"), rights.get("text"), origin="mediawiki rightsinfo")
        self.license = lic["spdx"] or lic["text"] or lic["url"]
        stats = data["query"].get("statistics", {})
        expected = stats.get("pages") if self.plan.namespaces != [0] else stats.get("articles")
        site = {"name": general.get("sitename"), "generator": general.get("generator"),
                "server": general.get("server"), "articlepath": general.get("articlepath"),
                "lang": general.get("lang"), "api_url": self.api_url, "statistics": stats,
                "server_time": general.get("time")}
        self.parameters["api_url"] = self.api_url
        if self.plan.changes is not None and self.plan.base_server not in (None, site["server"]):
            self.plan.fall_back(f"the wiki now calls itself {site['server']}, the base "
                                f"chain {self.plan.base_server}")
            site["incremental_fallback"] = self.parameters["incremental_fallback"]
        yield SnapshotInfoItem(site=site, license=lic,
                               expected_documents=None if self.plan.changes else
                               int(expected) if expected else None)
        titles = [m["content"] for m in data["query"].get("allmessages", [])
                  if m.get("content") not in (None, "", "-") and not m.get("missing")]
        if titles:
            yield self._api_request({"titles": "|".join(titles), "prop": "revisions|info",
                                     "rvprop": "ids|timestamp|sha1|content", "rvslots": "main",
                                     "inprop": "url"}, self.parse_terms)
        else:
            yield from self._crawl_pages()

    def parse_terms(self, response: Response) -> Iterator[Any]:
        """Record the wiki's copyright, disclaimer and privacy pages (hashes of their text)."""
        pages = (_json(response) or {}).get("query", {}).get("pages", [])
        records = []
        for page in pages:
            rev = (page.get("revisions") or [{}])[0]
            text = rev.get("slots", {}).get("main", {}).get("content")
            records.append({"title": page.get("title"), "url": page.get("canonicalurl"),
                            "revision_id": rev.get("revid"), "timestamp": rev.get("timestamp"),
                            **terms_record(None if page.get("missing") else text)})
        yield SnapshotInfoItem(consent={"terms": {"pages": records, **terms_record(
            "\n".join(f"{r['title']}\t{r.get('sha256')}" for r in records))}})
        yield from self._crawl_pages()

    def _crawl_pages(self) -> Iterator[Any]:
        if self.plan.changes is not None:
            yield from self._start_increment(self.plan.changes)
        elif self.chains.distributed:
            yield from self.start_chains()
        else:
            yield from self._next_namespace()

    # -- full crawl ---------------------------------------------------------------------

    def _next_namespace(self) -> Iterator[Any]:
        if self._limit_reached():
            return
        following = self.plan.next_namespace()
        if following is not None:
            yield self._pages_request(*following)

    def _limit_reached(self) -> bool:
        return self.limit is not None and self.emitted >= self.limit

    def _pages_request(self, namespace: int, cont: dict[str, Any]) -> Request:
        batch = self.batch if self.limit is None else max(1, min(self.batch,
                                                                  self.limit - self.emitted))
        params = {"generator": "allpages", "gapnamespace": namespace, "gaplimit": batch,
                  **PAGE_PROPS, **cont}
        return self._api_request(params, self.parse_pages, namespace=namespace)

    def parse_pages(self, response: Response, namespace: int) -> Iterator[Any]:
        data = self._api_answer(response, "check the namespaces and the wiki's API settings")
        for page in data.get("query", {}).get("pages", []):
            self.pending.merge(page)
        if data.get("batchcomplete"):
            yield from self._emit(self.pending)
        cont = data.get("continue")
        if self._limit_reached():
            return
        if cont:
            yield self._pages_request(namespace, cont)
        else:
            yield from self._next_namespace()

    def _emit(self, batch: PageBatch) -> Iterator[DocumentItem]:
        """The documents of a complete batch, in allpages order, up to the limit."""
        fetched = datetime.now(UTC)
        for page in batch.take():
            if self._limit_reached():
                break
            item = page_document(page, fetched, self.license)
            if item is None:
                continue
            self.emitted += 1
            if self.plan.changes is not None:
                self.plan.changes.emitted_ids.add(item.doc_id)
            yield item

    # -- incremental crawl (crawler.mediawiki.recentchanges) ------------------------------

    def _start_increment(self, changes: IncrementalPlan) -> Iterator[Any]:
        """Read recent changes, or fall back to a full crawl when they no longer reach the
        base (the oldest recent change is newer than ``rcstart``)."""
        if not changes.covers(self.rc_oldest):
            self.plan.fall_back(f"recent changes start at {self.rc_oldest}, after the base "
                                f"snapshot's {changes.rcstart}: the window no longer covers it")
            yield SnapshotInfoItem(site={"incremental_fallback":
                                         self.parameters["incremental_fallback"]})
            yield from self._next_namespace()
            return
        yield self._api_request(changes.rc_params({}), self.parse_rc)

    def _changes(self) -> IncrementalPlan:
        assert self.plan.changes is not None
        return self.plan.changes

    def parse_rc(self, response: Response) -> Iterator[Any]:
        changes = self._changes()
        data = self._api_answer(response, "run a full crawl instead of --incremental")
        for change in data.get("query", {}).get("recentchanges", []):
            changes.add(change)
        if data.get("continue"):
            yield self._api_request(changes.rc_params(data["continue"]), self.parse_rc)
            return
        self.parameters.update({"recent_changes": changes.changes,
                                "changed_titles": len(changes.titles)})
        yield SnapshotInfoItem()  # records the counts in the manifest
        yield from self._next_titles(changes, {})

    def _next_titles(self, changes: IncrementalPlan, cont: dict[str, Any]) -> Iterator[Any]:
        params = changes.titles_params(self.batch, cont)
        if params is None:
            yield from changes.tombstone_documents(self.license)
        else:
            yield self._api_request(params, self.parse_titles)

    def parse_titles(self, response: Response) -> Iterator[Any]:
        changes = self._changes()
        data = self._api_answer(response, "run a full crawl instead of --incremental")
        for page in data.get("query", {}).get("pages", []):
            if changes.wanted(page):
                self.pending.merge(page)
        if data.get("batchcomplete"):
            yield from self._emit(self.pending)
        yield from self._next_titles(changes, data.get("continue") or {})

    # -- distributed crawl (crawler.mediawiki.chains) -------------------------------------

    def start_chains(self) -> Iterator[Request]:
        """The first batch of every namespace (each worker yields them; one of each stays)."""
        self.chains.start()
        for namespace in self.plan.namespaces:
            yield self._chain_request(namespace, {})

    def _chain_request(self, namespace: int, cont: dict[str, Any],
                       pending: PageBatch | None = None) -> Request:
        params = {"generator": "allpages", "gapnamespace": namespace, "gaplimit": self.batch,
                  **PAGE_PROPS, **cont}
        if pending is not None:  # the rest of a batch: merged by this worker, same lease
            return self._api_request(params, self.parse_chain, namespace=namespace,
                                     pending=pending)
        return self._api_request(params, self.parse_chain, shared=True, namespace=namespace)

    def parse_chain(self, response: Response, namespace: int,
                    pending: PageBatch | None = None) -> Iterator[Any]:
        """One batch: the next batch's request first, then the batch's pages."""
        data = self._api_answer(response, "check the namespaces and the wiki's API settings")
        held = PageBatch() if pending is None else pending
        for page in data.get("query", {}).get("pages", []):
            held.merge(page)
        cont = data.get("continue")
        if cont and not data.get("batchcomplete"):
            yield self._chain_request(namespace, cont, pending=held)
            return
        if cont:
            yield self._chain_request(namespace, cont)
        yield from self._emit(held)

    # -- the API ----------------------------------------------------------------------------

    def _api_request(self, params: dict[str, Any], callback: Any, *, shared: bool = False,
                     **cb_kwargs: Any) -> Request:
        """An API request; a ``shared`` one goes to the distributed frontier, through its
        duplicate filter (a batch fetched again by another worker yields the same next
        request, which must not start the chain's rest a second time)."""
        full = {"action": "query", "format": "json", "formatversion": "2", "maxlag": "5",
                **params}
        assert self.api_url is not None
        return Request(f"{self.api_url}?{urlencode(full)}", callback=callback,
                       errback=self.on_error, cb_kwargs=cb_kwargs, dont_filter=not shared,
                       meta={"frontier": "shared"} if shared else None)

    def _api_answer(self, response: Response, advice: str) -> dict[str, Any]:
        """The decoded API answer, or a one-line error for a non-JSON or error answer."""
        data = _json(response)
        if data is None:
            raise self.fail(response.url, "the API answered something that is not JSON",
                            "check that the URL is a MediaWiki api.php")
        if "error" in data:
            err = data["error"]
            raise self.fail(response.url, f"API error {err.get('code')}: {err.get('info')}",
                            advice)
        return data


def _json(response: Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
