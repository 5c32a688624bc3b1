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
        self.parameters.update({"namespaces": self.namespaces, "limit": self.limit})

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
        yield from self._next_namespace()

    # -- pages --------------------------------------------------------------------------

    def _next_namespace(self) -> Iterator[Any]:
        if not self.namespaces or self._limit_reached():
            return
        ns = self.namespaces.pop(0)
        yield self._pages_request(ns, {})

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
        fetched = datetime.now(UTC)
        for pageid in sorted(self._pending):
            if self._limit_reached():
                break
            item = self._document(self._pending[pageid], fetched)
            if item is not None:
                self.emitted += 1
                yield item
        self._pending.clear()

    def _document(self, page: dict[str, Any], fetched: datetime) -> DocumentItem | None:
        if page.get("missing") or page.get("invalid"):
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
