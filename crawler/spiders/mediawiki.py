"""Snapshot a MediaWiki site through its Action API (one request at a time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlparse

import pyarrow.parquet as pq
from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from commons.exceptions import ConfigError, NoCompleteSnapshotError
from commons.licenses import license_record
from crawler.consent.signals import terms_record
from crawler.items import DocumentItem, SnapshotInfoItem
from crawler.mediawiki.chains import SharedChains
from crawler.mediawiki.recentchanges import PAGE_PROPS, IncrementalPlan, RecentChangesCrawl
from crawler.mediawiki.wikitext import wikitext_to_text
from crawler.spiders.base import CommonsSpider

#: Messages naming the wiki's own copyright, disclaimer and privacy pages (its terms).
TERMS_MESSAGES = ("copyrightpage", "disclaimerpage", "privacypage")


def parse_mw_time(value: str | None) -> datetime | None:
    """MediaWiki ISO timestamps ('2024-01-31T12:00:00Z') to aware datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class MediaWikiSpider(SharedChains, RecentChangesCrawl, CommonsSpider):
    """Every page of the chosen namespaces, with its latest revision and contributors.

    Arguments: ``url`` (the site or its api.php), ``source``, ``contact``, ``namespaces``
    (comma-separated ids, default ``0``), ``limit`` (stop after N pages), ``incremental``
    (only what changed since the source's snapshot chain), ``resume``.

    A full crawl uses ``generator=allpages`` with ``prop=revisions|info|contributors``,
    ``formatversion=2``, ``maxlag=5`` and the whole ``continue`` object, merging the parts
    of a batch until ``batchcomplete``; pages are emitted in allpages order, so a killed
    crawl resumes after its last durable title. An incremental crawl reads recent changes
    since the base (see :mod:`crawler.mediawiki.recentchanges`) and refetches those titles.
    Settings: ``MEDIAWIKI_BATCH`` (pages per request, at most 50),
    ``MEDIAWIKI_RC_MARGIN`` (seconds of recent changes re-read before the base's start).
    With ``COMMONS_FRONTIER`` it is one worker of a distributed crawl (see
    :mod:`crawler.mediawiki.chains`).
    """

    name = "mediawiki"
    probe_paths = ("/", "/api.php", "/w/api.php", "/wiki/")

    def __init__(self, *args: Any, namespaces: str | list[int] | None = None,
                 limit: str | int | None = None, incremental: Any = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            if isinstance(namespaces, list):
                self.namespaces = [int(n) for n in namespaces]
            else:
                self.namespaces = [int(n) for n in str(namespaces or "0").split(",") if n.strip()]
            self.limit = int(limit) if limit not in (None, "", 0, "0") else None
        except ValueError as exc:
            raise ConfigError(f"namespaces/limit must be integers ({exc})") from exc
        if self.limit is not None and self.limit < 0:
            raise ConfigError(f"--limit must be positive, got {self.limit}")
        self.incremental = str(incremental).lower() in {"1", "true", "yes", "on"}
        if self.incremental and self.limit is not None:
            raise ConfigError("--incremental fetches every change since the last snapshot; "
                              "drop --limit")
        self.api_url: str | None = None
        self.license: str | None = None
        self.emitted = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self._resume_from: dict[int, str] = {}
        self.base_snapshot: str | None = None
        self._changes: IncrementalPlan | None = None
        self._base_server: str | None = None
        self.parameters.update({"namespaces": list(self.namespaces), "limit": self.limit,
                                "mode": "incremental" if self.incremental else "full"})

    @property
    def batch(self) -> int:
        return max(1, min(50, self.settings.getint("MEDIAWIKI_BATCH", 50)))

    # -- planning (before the crawl starts) -----------------------------------------------

    def prepare(self) -> None:
        """Plan the crawl: continue an unfinished snapshot, or build on the snapshot chain."""
        resumed = self.resume_manifest
        self.distributed = bool(self.settings.get("COMMONS_FRONTIER"))
        if self.distributed:
            self._check_distributed()
            return
        if resumed is not None and resumed.parameters.get("frontier"):
            raise ConfigError(
                f"snapshot {self.source}/{resumed.snapshot_id} is a distributed crawl: continue "
                "it by starting workers with the same --frontier, not with --resume")
        if resumed is not None and resumed.base_snapshot:
            # An unfinished increment: same base, same rcstart; durable documents are skipped.
            rcstart = resumed.parameters.get("rcstart")
            if not rcstart:
                raise ConfigError(f"snapshot {self.source}/{resumed.snapshot_id} records no "
                                  "rcstart; start a new crawl without --resume")
            self.incremental = True
            self._plan_increment(self.store.chain(self.source, resumed.base_snapshot),
                                 str(rcstart))
        elif resumed is not None:
            self.incremental = False
            self._plan_resume()
        elif self.incremental:
            try:
                chain = self.store.latest_chain(self.source)
            except NoCompleteSnapshotError:
                self._fall_back("no complete snapshot of this source to build on")
                return
            first = chain[0].parameters
            if first.get("limit") or sorted(first.get("namespaces") or [0]) != sorted(
                    self.namespaces):
                self._fall_back(f"the base chain starts with {chain[0].snapshot_id}, a crawl "
                                "of other namespaces or with --limit")
                return
            margin = self.settings.getfloat("MEDIAWIKI_RC_MARGIN", 300.0)
            self._plan_increment(chain, IncrementalPlan.start_for(chain[-1], margin))
        self.parameters["mode"] = "incremental" if self.incremental else "full"

    def _plan_increment(self, chain: list[Any], rcstart: str) -> None:
        self.base_snapshot = chain[-1].snapshot_id
        self._base_server = chain[0].site.get("server")
        self._changes = IncrementalPlan.load(self.store, chain, rcstart, self.namespaces)
        self.parameters.update({"base_snapshot": self.base_snapshot, "rcstart": rcstart})

    def _fall_back(self, reason: str) -> None:
        """Make this incremental crawl a full one, and say why in the manifest."""
        self.logger.warning("incremental crawl falls back to a full crawl: %s", reason)
        self.incremental = False
        self.base_snapshot = None
        self._changes = None
        self.parameters.update({"mode": "full", "incremental_fallback": reason})
        self.parameters.pop("base_snapshot", None)
        self.parameters.pop("rcstart", None)

    def _plan_resume(self) -> None:
        """Continue after the last durable title of the namespace the killed crawl was in."""
        assert self.resume_manifest is not None
        last: dict[int, str] = {}
        count = 0
        for part in self.store.part_files(self.source, self.resume_manifest.snapshot_id):
            table = pq.read_table(part, columns=["namespace", "title"])
            count += table.num_rows
            for ns, title in zip(table.column("namespace").to_pylist(),
                                 table.column("title").to_pylist(), strict=True):
                key = _dbkey(title or "", ns)
                if ns is not None and key > last.get(ns, ""):
                    last[ns] = key
        # Namespaces are crawled in order: one with documents means all before it are done.
        done = [ns for ns in self.namespaces if ns in last]
        if done:
            current = done[-1]
            self.namespaces = self.namespaces[self.namespaces.index(current):]
            self._resume_from = {current: last[current]}
        self.emitted = count
        self.parameters["resumed_after"] = {str(k): v for k, v in self._resume_from.items()}

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
        if self._changes is not None:  # how far back recent changes reach
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
        data = self._json(response) or {}
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
        expected = stats.get("pages") if self.namespaces != [0] else stats.get("articles")
        site = {"name": general.get("sitename"), "generator": general.get("generator"),
                "server": general.get("server"), "articlepath": general.get("articlepath"),
                "lang": general.get("lang"), "api_url": self.api_url, "statistics": stats,
                "server_time": general.get("time")}
        self.parameters["api_url"] = self.api_url
        if self._changes is not None and self._base_server not in (None, site["server"]):
            self._fall_back(f"the wiki now calls itself {site['server']}, the base chain "
                            f"{self._base_server}")
            site["incremental_fallback"] = self.parameters["incremental_fallback"]
        yield SnapshotInfoItem(site=site, license=lic,
                               expected_documents=None if self._changes else
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
        pages = (self._json(response) or {}).get("query", {}).get("pages", [])
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
        if self._changes is not None:
            yield from self.start_increment()
        elif self.distributed:
            yield from self.start_chains()
        else:
            yield from self._next_namespace()

    # -- full crawl ---------------------------------------------------------------------

    def _next_namespace(self) -> Iterator[Any]:
        if not self.namespaces or self._limit_reached():
            return
        ns = self.namespaces.pop(0)
        start = self._resume_from.pop(ns, None)
        yield self._pages_request(ns, {"gapfrom": start} if start else {})

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
            self._merge(page)
        if data.get("batchcomplete"):
            yield from self._emit_batch()
        cont = data.get("continue")
        if self._limit_reached():
            return
        if cont:
            yield self._pages_request(namespace, cont)
        else:
            yield from self._next_namespace()

    def _merge(self, page: dict[str, Any], pending: dict[int, dict[str, Any]] | None = None
               ) -> None:
        held = (self._pending if pending is None else pending).setdefault(page["pageid"], {})
        contributors = held.get("contributors", []) + page.get("contributors", [])
        held.update({k: v for k, v in page.items() if v is not None})
        held["contributors"] = contributors

    def _emit_batch(self, pending: dict[int, dict[str, Any]] | None = None
                    ) -> Iterator[DocumentItem]:
        # In title order, as allpages lists them, so the durable documents of an interrupted
        # crawl are always a prefix of the namespace (see --resume).
        fetched = datetime.now(UTC)
        held = self._pending if pending is None else pending
        pages = sorted(held.values(), key=lambda p: _dbkey(p.get("title", ""), p.get("ns")))
        held.clear()
        for page in pages:
            if self._limit_reached():
                break
            item = self._document(page, fetched)
            if item is None:
                continue
            self.emitted += 1
            if self._changes is not None:
                self._changes.emitted_ids.add(item.doc_id)
            yield item

    # -- shared ---------------------------------------------------------------------------

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
        data = self._json(response)
        if data is None:
            raise self.fail(response.url, "the API answered something that is not JSON",
                            "check that the URL is a MediaWiki api.php")
        if "error" in data:
            err = data["error"]
            raise self.fail(response.url, f"API error {err.get('code')}: {err.get('info')}",
                            advice)
        return data

    def _document(self, page: dict[str, Any], fetched: datetime) -> DocumentItem | None:
        if page.get("missing") or page.get("invalid") or "revisions" not in page:
            return None
        revisions = page.get("revisions") or []
        rev = revisions[0] if revisions else {}
        wikitext = rev.get("slots", {}).get("main", {}).get("content", "")
        is_redirect = bool(page.get("redirect"))
        authors = sorted({c["name"] for c in page.get("contributors", []) if c.get("name")})
        return DocumentItem(
            doc_id=str(page["pageid"]),
            kind="page",
            url=page.get("canonicalurl") or page.get("fullurl"),
            title=page.get("title"),
            text="" if is_redirect else wikitext_to_text(wikitext),
            fetched_at=fetched,
            license=self.license,
            authors=authors,
            anon_authors=int(page.get("anoncontributors", 0) or 0),
            last_editor=rev.get("user"),
            revision_id=rev.get("revid"),
            modified_at=parse_mw_time(rev.get("timestamp")),
            namespace=page.get("ns"),
            is_redirect=is_redirect,
            redirect_to=_redirect_target(wikitext) if is_redirect else None,
        )

    @staticmethod
    def _json(response: Response) -> dict[str, Any] | None:
        try:
            data = json.loads(response.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _redirect_target(wikitext: str) -> str | None:
    """The target of ``#REDIRECT [[Target]]``."""
    start = wikitext.find("[[")
    end = wikitext.find("]]", start)
    if start < 0 or end < 0:
        return None
    return wikitext[start + 2 : end].split("|")[0].strip() or None


def _dbkey(title: str, namespace: int | None = 0) -> str:
    """MediaWiki's sort key for a title within its namespace (allpages order; ``gapfrom``).

    >>> _dbkey("Template:Notice board", 10)
    'Notice_board'
    >>> _dbkey("Ratio: a study", 0)
    'Ratio:_a_study'
    """
    if namespace and ":" in title:
        title = title.split(":", 1)[1]
    return title.replace(" ", "_")
