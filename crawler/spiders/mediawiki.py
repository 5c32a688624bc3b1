"""Snapshot a MediaWiki site through its Action API (one request at a time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urljoin, urlparse

import pyarrow.parquet as pq
from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from commons.exceptions import ConfigError
from commons.licenses import license_record
from commons.store import SnapshotManifest, SnapshotStore
from crawler.base import CommonsSpider
from crawler.items import DocumentItem, SnapshotInfoItem
from crawler.wikitext import wikitext_to_text

BATCH = 50  # pages per API request; the API's limit for revision content


def parse_mw_time(value: str | None) -> datetime | None:
    """MediaWiki ISO timestamps ('2024-01-31T12:00:00Z') to aware datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class MediaWikiSpider(CommonsSpider):
    """Every page of the chosen namespaces, with its latest revision and contributors.

    Arguments: ``url`` (the site or its api.php), ``source``, ``contact``, ``namespaces``
    (comma-separated ids, default ``0``), ``limit`` (stop after N pages).

    Uses ``generator=allpages`` with ``prop=revisions|info|contributors``,
    ``formatversion=2``, ``maxlag=5`` and the whole ``continue`` object, merging the parts
    of a batch until ``batchcomplete``.
    """

    name = "mediawiki"
    probe_paths = ("/", "/api.php", "/w/api.php", "/wiki/")

    def __init__(self, *args: Any, namespaces: str | list[int] | None = None,
                 limit: str | int | None = None, **kwargs: Any) -> None:
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
        self.api_url: str | None = None
        self.license: str | None = None
        self.emitted = 0
        self._pending: dict[int, dict[str, Any]] = {}
        self._resume_from: dict[int, str] = {}
        self.incremental = str(kwargs.get("incremental", "")).lower() in {"1", "true", "yes"}
        self.base_snapshot: str | None = None
        self._changes: IncrementalPlan | None = None
        self.parameters.update({"namespaces": list(self.namespaces), "limit": self.limit,
                                "mode": "incremental" if self.incremental else "full"})

    def prepare(self) -> None:
        """On --resume, continue each namespace after its last durable title; on
        --incremental, load the base snapshot chain's titles."""
        if self.resume_manifest is not None:
            self._plan_resume()
        if self.incremental and self.resume_manifest is None:
            chain = self.store.latest_chain(self.source)
            self.base_snapshot = chain[-1].snapshot_id
            started = chain[-1].started_at or ""
            margin = self.settings.getfloat("MEDIAWIKI_RC_MARGIN", 300.0)
            self._changes = IncrementalPlan.load(self.store, chain, started, margin)
            self.parameters["base_snapshot"] = self.base_snapshot
            self.parameters["rcstart"] = self._changes.rcstart
        elif self.resume_manifest is not None and self.resume_manifest.base_snapshot:
            raise ConfigError("an interrupted incremental snapshot cannot be resumed; "
                              "start a new --incremental crawl")

    def _plan_resume(self) -> None:
        assert self.resume_manifest is not None
        parts = self.store.part_files(self.source, self.resume_manifest.snapshot_id)
        last: dict[int, str] = {}
        count = 0
        for part in parts:
            table = pq.read_table(part, columns=["namespace", "title"])
            count += table.num_rows
            for ns, title in zip(table.column("namespace").to_pylist(),
                                 table.column("title").to_pylist(), strict=True):
                key = _dbkey(title or "")
                if ns is not None and key > last.get(ns, ""):
                    last[ns] = key
        # Namespaces are crawled in order: one with documents means all before it are done.
        done = [ns for ns in self.namespaces if ns in last]
        if done:
            current = done[-1]
            self.namespaces = self.namespaces[self.namespaces.index(current):]
            self._resume_from = {current: last[current]}
        self.emitted = count

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
        params = {"action": "query", "meta": "siteinfo",
                  "siprop": "general|rightsinfo|statistics|namespaces",
                  "format": "json", "formatversion": "2", "maxlag": "5"}
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
        rights = data["query"].get("rightsinfo", {})
        lic = license_record(rights.get("url"), rights.get("text"), origin="mediawiki rightsinfo")
        self.license = lic["spdx"] or lic["text"] or lic["url"]
        stats = data["query"].get("statistics", {})
        expected = stats.get("pages") if self.namespaces != [0] else stats.get("articles")
        site = {"name": general.get("sitename"), "generator": general.get("generator"),
                "server": general.get("server"), "articlepath": general.get("articlepath"),
                "lang": general.get("lang"), "api_url": self.api_url, "statistics": stats}
        self.parameters["api_url"] = self.api_url
        yield SnapshotInfoItem(site=site, license=lic,
                               expected_documents=int(expected) if expected else None)
        if self._changes is not None:
            yield self._api_request({"list": "recentchanges", "rcdir": "newer", "rclimit": "1",
                                     "rcprop": "timestamp"}, self.parse_rc_window)
            return
        yield from self._next_namespace()

    # -- pages --------------------------------------------------------------------------

    def _next_namespace(self) -> Iterator[Any]:
        if not self.namespaces or self._limit_reached():
            return
        ns = self.namespaces.pop(0)
        start = self._resume_from.pop(ns, None)
        yield self._pages_request(ns, {"gapfrom": start} if start else {})

    def _limit_reached(self) -> bool:
        return self.limit is not None and self.emitted >= self.limit

    def _pages_request(self, namespace: int, cont: dict[str, Any]) -> Request:
        batch = BATCH if self.limit is None else max(1, min(BATCH, self.limit - self.emitted))
        params: dict[str, Any] = {
            "action": "query", "format": "json", "formatversion": "2", "maxlag": "5",
            "generator": "allpages", "gapnamespace": namespace, "gaplimit": batch,
            "prop": "revisions|info|contributors",
            "rvprop": "ids|timestamp|user|userid|sha1|size|content", "rvslots": "main",
            "inprop": "url", "pclimit": "max",
        }
        params.update(cont)
        assert self.api_url is not None
        return Request(f"{self.api_url}?{urlencode(params)}", callback=self.parse_pages,
                       errback=self.on_error, cb_kwargs={"namespace": namespace},
                       dont_filter=True)

    def parse_pages(self, response: Response, namespace: int) -> Iterator[Any]:
        data = self._json(response)
        if data is None:
            raise self.fail(response.url, "the API answered something that is not JSON",
                            "check that the URL is a MediaWiki api.php")
        if "error" in data:
            err = data["error"]
            raise self.fail(response.url, f"API error {err.get('code')}: {err.get('info')}",
                            "check the namespaces and the wiki's API settings")
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

    def _merge(self, page: dict[str, Any]) -> None:
        held = self._pending.setdefault(page["pageid"], {})
        contributors = held.get("contributors", []) + page.get("contributors", [])
        held.update({k: v for k, v in page.items() if v is not None})
        held["contributors"] = contributors

    def _emit_batch(self) -> Iterator[DocumentItem]:
        # In title order, as allpages lists them, so the durable documents of an interrupted
        # crawl are always a prefix of the namespace (see --resume).
        fetched = datetime.now(UTC)
        pages = sorted(self._pending.values(), key=lambda p: _dbkey(p.get("title", "")))
        self._pending.clear()
        for page in pages:
            if self._limit_reached():
                break
            item = self._document(page, fetched)
            if item is None:
                if self._changes is not None and page.get("missing"):
                    self._changes.missing.append(page.get("title", ""))
                continue
            self.emitted += 1
            if self._changes is not None:
                self._changes.emitted_ids.add(item.doc_id)
            yield item

    # -- incremental ------------------------------------------------------------------

    def _api_request(self, params: dict[str, Any], callback: Any, **cb_kwargs: Any) -> Request:
        full = {"action": "query", "format": "json", "formatversion": "2", "maxlag": "5",
                **params}
        assert self.api_url is not None
        return Request(f"{self.api_url}?{urlencode(full)}", callback=callback,
                       errback=self.on_error, cb_kwargs=cb_kwargs, dont_filter=True)

    def parse_rc_window(self, response: Response) -> Iterator[Any]:
        """Fall back to a full crawl when recent changes no longer reach the base snapshot."""
        assert self._changes is not None
        changes = (self._json(response) or {}).get("query", {}).get("recentchanges", [])
        oldest = changes[0]["timestamp"] if changes else None
        if oldest is None or oldest > self._changes.rcstart:
            reason = (f"recent changes start at {oldest}, after the base snapshot's "
                      f"{self._changes.rcstart}: the window no longer covers it")
            self.logger.warning("incremental crawl falls back to a full crawl: %s", reason)
            self.parameters["mode"] = "full"
            self.parameters["incremental_fallback"] = reason
            self.base_snapshot = None
            self._changes = None
            yield SnapshotInfoItem(site={"incremental_fallback": reason})
            yield from self._next_namespace()
            return
        yield self._rc_request({})

    def _rc_request(self, cont: dict[str, Any]) -> Request:
        assert self._changes is not None
        return self._api_request({
            "list": "recentchanges", "rcdir": "newer", "rcstart": self._changes.rcstart,
            "rcprop": "title|ids|timestamp|loginfo", "rctype": "edit|new|log", "rclimit": "max",
            "rcnamespace": "|".join(str(n) for n in self.namespaces), **cont,
        }, self.parse_rc)

    def parse_rc(self, response: Response) -> Iterator[Any]:
        assert self._changes is not None
        data = self._json(response) or {}
        if "error" in data:
            err = data["error"]
            raise self.fail(response.url, f"API error {err.get('code')}: {err.get('info')}",
                            "run a full crawl instead of --incremental")
        for change in data.get("query", {}).get("recentchanges", []):
            self._changes.add(change)
        if data.get("continue"):
            yield self._rc_request(data["continue"])
            return
        self.parameters["changed_titles"] = len(self._changes.titles)
        yield from self._next_titles({})

    def _next_titles(self, cont: dict[str, Any]) -> Iterator[Any]:
        assert self._changes is not None
        if not cont:
            batch = self._changes.next_batch(BATCH)
            if not batch:
                yield from self._tombstones()
                return
            self._changes.current = batch
        params = {"titles": "|".join(self._changes.current),
                  "prop": "revisions|info|contributors",
                  "rvprop": "ids|timestamp|user|userid|sha1|size|content", "rvslots": "main",
                  "inprop": "url", "pclimit": "max", **cont}
        yield self._api_request(params, self.parse_titles)

    def parse_titles(self, response: Response) -> Iterator[Any]:
        data = self._json(response) or {}
        if "error" in data:
            err = data["error"]
            raise self.fail(response.url, f"API error {err.get('code')}: {err.get('info')}",
                            "run a full crawl instead of --incremental")
        for page in data.get("query", {}).get("pages", []):
            if page.get("ns") in self.parameters["namespaces"] or page.get("missing"):
                key = page["pageid"] if "pageid" in page else f"missing:{page.get('title')}"
                self._merge({**page, "pageid": key})
        if data.get("batchcomplete"):
            yield from self._emit_batch()
        yield from self._next_titles(data.get("continue") or {})

    def _tombstones(self) -> Iterator[DocumentItem]:
        assert self._changes is not None
        fetched = datetime.now(UTC)
        for doc_id, title in self._changes.deleted():
            yield DocumentItem(doc_id=doc_id, kind="page", url=None, title=title, text="",
                               fetched_at=fetched, license=self.license, is_deleted=True)

    def _document(self, page: dict[str, Any], fetched: datetime) -> DocumentItem | None:
        if page.get("missing") or page.get("invalid") or "revisions" not in page:
            return None
        revisions = page.get("revisions") or []
        rev = revisions[0] if revisions else {}
        wikitext = rev.get("slots", {}).get("main", {}).get("content", "")
        is_redirect = bool(page.get("redirect"))
        authors = sorted({c["name"] for c in page.get("contributors", []) if c.get("name")})
        last_editor = rev.get("user")
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
            last_editor=last_editor,
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


def _dbkey(title: str) -> str:
    """MediaWiki's sort key for a title within a namespace (allpages order)."""
    return title.replace(" ", "_")


class IncrementalPlan:
    """What an incremental crawl must refetch: titles changed since the base snapshot."""

    def __init__(self, rcstart: str, base_titles: dict[str, str]) -> None:
        self.rcstart = rcstart
        self.base_titles = base_titles  # title -> doc_id in the base chain
        self.titles: dict[str, None] = {}  # ordered set of titles to refetch
        self.missing: list[str] = []
        self.emitted_ids: set[str] = set()
        self.current: list[str] = []
        self._cursor = 0

    @classmethod
    def load(cls, store: SnapshotStore, chain: list[SnapshotManifest], started_at: str,
             margin_s: float) -> IncrementalPlan:
        start = datetime.fromisoformat(started_at.replace("Z", "+00:00")) - timedelta(
            seconds=margin_s)
        rcstart = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        titles: dict[str, str] = {}
        for manifest in chain:  # oldest first, so newer rows win
            for part in store.part_files(manifest.source, manifest.snapshot_id):
                table = pq.read_table(part, columns=["doc_id", "title", "is_deleted"])
                for doc_id, title, deleted in zip(*(c.to_pylist() for c in table.columns),
                                                  strict=True):
                    if deleted:
                        titles.pop(title, None)
                    else:
                        titles[title] = doc_id
        return cls(rcstart, titles)

    def add(self, change: dict[str, Any]) -> None:
        """Record one recentchanges entry (edit, new page, or a log event)."""
        title = change.get("title")
        if title:
            self.titles[title] = None
        target = (change.get("logparams") or {}).get("target_title")
        if target:
            self.titles[target] = None

    def next_batch(self, size: int) -> list[str]:
        titles = list(self.titles)
        batch = titles[self._cursor : self._cursor + size]
        self._cursor += len(batch)
        return batch

    def deleted(self) -> Iterator[tuple[str, str]]:
        """(doc_id, title) of base documents whose title is gone and id was not refetched."""
        for title in self.missing:
            doc_id = self.base_titles.get(title)
            if doc_id is not None and doc_id not in self.emitted_ids:
                self.emitted_ids.add(doc_id)
                yield doc_id, title
