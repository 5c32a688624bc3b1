"""Snapshot an HTML forum (phpBB, django-spirit, ...) described by a preset or a TOML file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from selectolax.lexbor import LexborHTMLParser, LexborNode
from twisted.python.failure import Failure

from commons.exceptions import ConfigError
from commons.store import SnapshotManifest
from crawler.forum.htmltext import node_text
from crawler.forum.increment import ForumPlan
from crawler.forum.pagevalidators import PageValidators, ThreadPage
from crawler.forum.site import (
    canonical_url,
    license_in_html,
    license_value,
    meta_generator,
    operator_license,
    terms_record,
)
from crawler.forum.spec import Field, ForumSpec, load_preset, load_selectors
from crawler.items import DocumentItem, SnapshotInfoItem
from crawler.spiders.base import CommonsSpider, truthy

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

#: Request priorities: finish a thread's pages before its siblings, threads before new boards,
#: so the scheduler holds about one board page of threads at a time.
BOARD, THREAD, THREAD_NEXT = 0, 10, 20
#: HTTP answers for a single thread or board page that skip that page instead of failing.
SKIPPABLE = frozenset({403, 404, 410})


class HtmlForumSpider(CommonsSpider):
    """Every post of every thread reachable from the entry page, one row per post.

    Arguments: ``url`` (the board's index), ``source``, ``contact``, ``preset`` (``phpbb``,
    ``spirit``) or ``selectors`` (a TOML description), ``license`` (overrides what the site
    says). Threads are deduplicated by the id the description's ``thread_id`` regex finds
    in their URL; posts by their id within a thread. ``position`` is the 1-based order of
    the visible posts of a thread.

    ``incremental``: walk the boards as a full crawl does, but ask for each thread page the
    base recorded validators for (``_pages.json``) with ``If-None-Match`` /
    ``If-Modified-Since``; a 304 keeps the page's base posts, other pages are compared post
    by post, only new or changed posts are written, and every base post not seen again gets
    a tombstone (:mod:`crawler.forum.increment`). Without validators (many forums send
    none) every page is fetched and compared.
    """

    name = "forum"
    #: One site, one request at a time anyway (CONCURRENT_REQUESTS_PER_DOMAIN=1); with one
    #: request in the downloader, a stop after the first page leaves nothing else to send.
    custom_settings = {"CONCURRENT_REQUESTS": 1}

    def __init__(self, *args: Any, preset: str | None = None, selectors: str | None = None,
                 license: str | None = None, incremental: Any = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = ForumPlan(self.name, self.base_url, truthy(incremental), self.parameters)
        #: Validators of the base's thread pages, and of this crawl's (saved at the end).
        self.base_pages = PageValidators()
        self.pages = PageValidators()
        if bool(preset) == bool(selectors):
            raise ConfigError("give the forum's markup with either --preset NAME or "
                              "--selectors FILE.toml (exactly one)")
        self.spec: ForumSpec = load_preset(preset) if preset else load_selectors(str(selectors))
        self.license_arg = license
        self.license: str | None = None
        base = urlsplit(canonical_url(self.base_url, self.spec.strip_params))
        self.scope_prefix = f"{base.scheme}://{base.netloc}{base.path.rsplit('/', 1)[0]}/"
        self.seen_threads: set[str] = set()
        self.posts_checked = False
        self.parameters.update({"forum": self.spec.record(), "license": license})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> HtmlForumSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, HtmlForumSpider)
        crawler.signals.connect(spider.check_not_empty, signal=signals.spider_idle)
        spider.plan.connect_finish(crawler, spider.write_tombstones)
        return spider

    @property
    def base_snapshot(self) -> str | None:
        """The snapshot this one builds on (read by the snapshot pipeline)."""
        return self.plan.base_snapshot

    def prepare(self) -> None:
        """Continue an unfinished snapshot, or build on the snapshot chain and its thread
        pages' validators."""
        chain = self.plan.choose(self.store, self.source, self.resume_manifest, self._mismatch)
        if chain is not None:
            tip = chain[-1]
            self.base_pages = PageValidators.load(self.store.data.snapshot_dir(tip.source,
                                                                               tip.snapshot_id))
            self.parameters["base_validated_pages"] = len(self.base_pages.pages)

    def _mismatch(self, chain: list[SnapshotManifest]) -> str | None:
        """Why this crawl cannot build on ``chain``: another forum description."""
        forum = chain[0].parameters.get("forum") or {}
        if forum.get("sha256") != self.spec.sha256:
            return (f"the base chain starts with {chain[0].snapshot_id}, read with another "
                    f"forum description ({forum.get('origin')})")
        return None

    def write_tombstones(self, response: Response) -> Iterator[DocumentItem]:
        """The increment's last step: tombstones of vanished posts (every thread was read)."""
        return self.plan.tombstones(None, self.license, self.crawler.stats)

    def closed(self, reason: str) -> None:
        """Save the thread pages' validators beside a finished snapshot."""
        stats = self.crawler.stats
        if reason != "finished" or (stats is not None and stats.get_value("commons/error")):
            return
        if self.snapshot_id:
            self.pages.save(self.store.data.snapshot_dir(self.source, self.snapshot_id))

    @property
    def label(self) -> str:
        return f"{self.spec.origin} ({self.spec.engine or self.spec.name})"

    # -- entry, licence, terms ----------------------------------------------------------

    def crawl_site(self, entry: Response) -> Iterator[Any]:
        html = entry.text if hasattr(entry, "text") else ""
        if self.license_arg:
            lic = operator_license(self.license_arg)
        else:
            lic = license_in_html(html, "entry page") or {
                "spdx": None, "url": None, "text": None, "origin": "none found"}
        self.license = license_value(lic)
        title = LexborHTMLParser(html).css_first("title")
        site = {"name": title.text(strip=True) if title is not None else None,
                "generator": meta_generator(html), "engine": self.spec.engine,
                "forum_description": self.spec.origin}
        yield SnapshotInfoItem(site=site, license=lic)
        if self.spec.terms:
            yield Request(urljoin(entry.url, self.spec.terms), callback=self.parse_terms,
                          errback=self.terms_failed, meta={"handle_httpstatus_all": True},
                          priority=THREAD_NEXT + 1, dont_filter=True)
        yield from self.parse_board(entry, first=True)

    def parse_terms(self, response: Response) -> Iterator[Any]:
        html = response.text if hasattr(response, "text") else ""
        yield SnapshotInfoItem(consent={"terms": terms_record(response.url, response.status,
                                                               html)})

    def terms_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield SnapshotInfoItem(consent={"terms": {"url": request.url, "status": None,
                                                  "error": failure.getErrorMessage()}})

    # -- boards -------------------------------------------------------------------------

    def parse_board(self, response: Response, first: bool = False) -> Iterator[Any]:
        root = _root(response)
        threads = self._links(response, root, self.spec.thread_links)
        forums = self._links(response, root, self.spec.forum_links)
        if first and not threads and not forums:
            raise self.fail(
                response.url,
                f"{self.label} finds no threads or boards on the first page ([board] "
                f"thread_links {self.spec.selector_of('board.thread_links')!r} matches nothing)",
                "check that the URL is the forum's index, or describe its markup with "
                "--selectors FILE.toml",
            )
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("forum/board_pages")
        for url in threads:
            match = self.spec.thread_id.search(url)
            if match is None:
                stats.inc_value("forum/thread_links_without_id")
                continue
            thread_id = match.group(1) if match.groups() else match.group(0)
            if thread_id in self.seen_threads:
                continue
            self.seen_threads.add(thread_id)
            yield self._thread_request(url, thread_id, 0, set(), None, THREAD)
        for url in forums:
            yield Request(url, callback=self.parse_board, errback=self.page_failed,
                          priority=BOARD)
        for url in self._links(response, root, self.spec.board_next)[:1]:
            yield Request(url, callback=self.parse_board, errback=self.page_failed,
                          priority=BOARD)

    # -- threads ------------------------------------------------------------------------

    def _thread_request(self, url: str, thread_id: str, offset: int, seen: set[str],
                        title: str | None, priority: int) -> Request:
        headers: dict[str, str] = {}
        base = self.base_pages.get(url) if self.plan.increment is not None else None
        # A 304 stands for the base's posts only if the page starts where it started then.
        if base is not None and (base.thread_id, base.offset) == (thread_id, offset) and (
                title is None or title == base.title):
            headers = base.conditional_headers()
        return Request(url, callback=self.parse_thread, errback=self.page_failed,
                       priority=priority, dont_filter=True, headers=headers,
                       meta={"handle_httpstatus_list": [304], "page_url": url},
                       cb_kwargs={"thread_id": thread_id, "offset": offset, "seen": seen,
                                  "title": title})

    def _not_modified(self, response: Response, thread_id: str, seen: set[str],
                      title: str | None) -> Iterator[Any]:
        """A 304: the page holds the base's posts; go on to its next page."""
        stats = self.crawler.stats
        increment = self.plan.increment
        assert stats is not None and increment is not None
        url = response.meta["page_url"]
        page = self.base_pages.get(url)
        if page is None:
            raise self.fail(url, "answered 304 Not Modified to a request without validators",
                            "crawl again without --incremental")
        stats.inc_value("forum/thread_pages_not_modified")
        stats.inc_value("forum/posts_unchanged", len(page.posts))
        self.posts_checked = True
        seen.update(page.posts)
        increment.seen(page.posts)
        self.pages.record(url, page)
        if page.next_url:
            yield self._thread_request(page.next_url, thread_id, page.offset + len(page.posts),
                                       seen, title or page.title, THREAD_NEXT)

    def parse_thread(self, response: Response, thread_id: str, offset: int, seen: set[str],
                     title: str | None) -> Iterator[Any]:
        """One page of a thread: its posts in order, then the thread's next page."""
        if response.status == 304:
            yield from self._not_modified(response, thread_id, seen, title)
            return
        root = _root(response)
        posts = root.css(self.spec.post)
        if not self.posts_checked:
            self._check_first_thread(response, posts)
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value("forum/thread_pages")
        if title is None:
            title = (self.spec.title.first(root) if self.spec.title else None) or _page_title(root)
        fetched = datetime.now(UTC)
        position = offset
        counted: list[str] = []
        for node in posts:
            post_id = self.spec.post_id.first(node)
            if not post_id:
                stats.inc_value("forum/posts_without_id")
                continue
            if post_id in seen:
                stats.inc_value("forum/posts_repeated")
                continue
            seen.add(post_id)
            counted.append(post_id)
            position += 1
            item = self._post(response, node, post_id, thread_id, title, position, fetched)
            if self.plan.keep(item, stats):
                yield item
        if not posts:
            stats.inc_value("forum/thread_pages_without_posts")
        next_url = None
        for url in self._links(response, root, self.spec.thread_next)[:1]:
            if url != canonical_url(response.url, self.spec.strip_params):
                next_url = url
                yield self._thread_request(url, thread_id, position, seen, title, THREAD_NEXT)
        headers = response.headers
        self.pages.record(response.meta.get("page_url", response.url), ThreadPage(
            thread_id=thread_id, offset=offset, posts=tuple(counted), title=title,
            next_url=next_url, etag=_header(headers, b"ETag"),
            last_modified=_header(headers, b"Last-Modified")))

    def _post(self, response: Response, node: LexborNode, post_id: str, thread_id: str,
              title: str | None, position: int, fetched: datetime) -> DocumentItem:
        spec = self.spec
        author = spec.author.first(node)
        when = spec.parse_time(spec.time.first(node)) if spec.time else None
        revision = spec.revision.first(node) if spec.revision else None
        reply_to = spec.reply_to.first(node) if spec.reply_to else None
        body = node.css_first(spec.body)
        text = node_text(body, spec.exclude) if body is not None else ""
        if spec.permalink:
            url = urljoin(response.url, spec.permalink.format(post_id=post_id,
                                                              thread_id=thread_id))
        else:
            url = canonical_url(response.url, spec.strip_params) + f"#{post_id}"
        return DocumentItem(
            doc_id=post_id, kind="post", url=url, title=title, text=text, fetched_at=fetched,
            license=self.license, authors=[author] if author else [],
            anon_authors=0 if author else 1, last_editor=author,
            revision_id=int(revision) if revision and revision.isdigit() else None,
            modified_at=when, created_at=when, parent_id=thread_id, reply_to=reply_to,
            position=position,
        )

    def _check_first_thread(self, response: Response, posts: list[LexborNode]) -> None:
        """Fail after the first thread page when the description does not fit the site."""
        advice = "fix the forum description (--selectors FILE.toml) or pick another --preset"
        if not posts:
            raise self.fail(response.url, f"{self.label}: [thread] post "
                            f"{self.spec.selector_of('thread.post')!r} matches nothing on the "
                            "first thread page", advice)
        checks: list[tuple[str, bool]] = [
            ("post.id", self.spec.post_id.first(posts[0]) is not None),
            ("post.author", any(self.spec.author.first(p) for p in posts)),
            ("post.body", any(p.css_first(self.spec.body) is not None for p in posts)),
        ]
        if self.spec.time is not None:
            checks.append(("post.time", any(
                self.spec.parse_time(self.spec.time.first(p)) for p in posts)))
        for name, ok in checks:
            if not ok:
                raise self.fail(response.url, f"{self.label}: [{name.replace('.', '] ')} "
                                f"{self.spec.selector_of(name)!r} finds nothing (or no "
                                "parseable time) in the first thread page's posts", advice)
        self.posts_checked = True

    # -- links, scope, errors -----------------------------------------------------------

    def _links(self, response: Response, root: LexborNode, fld: Field | None) -> list[str]:
        """Absolute, canonical, in-scope URLs a link field finds, without repeats."""
        if fld is None:
            return []
        out: dict[str, None] = {}
        for href in fld.values(root):
            url = canonical_url(response.urljoin(href), self.spec.strip_params)
            if url.startswith(self.scope_prefix):
                out[url] = None
            else:
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("forum/links_out_of_scope")
        return list(out)

    def page_failed(self, failure: Failure) -> None:
        """A board or thread page that is gone, forbidden or disallowed is skipped; other
        failures end the crawl."""
        stats = self.crawler.stats
        assert stats is not None
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            status = failure.value.response.status  # type: ignore[union-attr]
            if status in SKIPPABLE:
                stats.inc_value(f"forum/pages_skipped/http_{status}")
                self.logger.warning("skipped %s (HTTP %s)", request.url, status)
                return
        if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
            stats.inc_value("forum/pages_skipped/robots_txt")
            self.logger.warning("skipped %s (robots.txt)", request.url)
            return
        self.on_error(failure)

    def check_not_empty(self, spider: Any = None) -> None:
        """At the end: a crawl that found threads but no posts is an error, not a snapshot."""
        if self.posts_checked or self.crawler.stats is None:
            return
        if self.crawler.stats.get_value("commons/error"):
            return
        raise self.fail(self.base_url, f"{self.label} found {len(self.seen_threads)} thread "
                        "links but no thread page could be read",
                        "check the crawl's log (--verbose) and the forum description")


def _root(response: Response) -> LexborNode:
    tree = LexborHTMLParser(response.text if hasattr(response, "text") else "")
    root = tree.root
    if root is None:
        return LexborHTMLParser("<html></html>").root  # type: ignore[return-value]
    return root


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _page_title(root: LexborNode) -> str | None:
    node = root.css_first("title")
    return node.text(strip=True) if node is not None else None
