"""Snapshot a Discourse forum through its public JSON API, one row per post."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urljoin

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from commons.store import SnapshotManifest
from crawler.forum.htmltext import html_to_text
from crawler.forum.increment import ForumPlan
from crawler.forum.site import license_value, meta_generator, operator_license, terms_record
from crawler.items import DocumentItem, SnapshotInfoItem
from crawler.mediawiki.recentchanges import high_water_mark
from crawler.spiders.base import CommonsSpider, truthy

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

#: Posts per ``/t/{id}/posts.json`` request (the size of Discourse's own post chunks).
POST_BATCH = 20
#: Parts of ``cooked`` HTML that are not the post's own words: quotes of other posts, link
#: previews of other sites, image file captions.
COOKED_EXCLUDE = ("aside.quote", "aside.onebox", ".lightbox-wrapper .meta", ".cooked-date")
#: Request priorities: a topic's post batches first, then topics, then the next list page.
LIST, TOPIC, POSTS = 0, 10, 20
#: Post types that are not user content (3: small action such as "closed the topic").
SKIPPED_POST_TYPES = frozenset({3})


def parse_time(value: str | None) -> datetime | None:
    """Discourse's ISO timestamps ('2024-01-31T12:00:00.000Z') to aware UTC datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class DiscourseSpider(CommonsSpider):
    """Every post of every topic (or of one ``category``), with author, times and version.

    Arguments: ``url``, ``source``, ``contact``, ``category`` (slug or id), ``license``
    (overrides the licence read from ``/tos``), ``incremental``, ``resume``.

    Topics come from ``/latest.json`` (or ``/c/{slug}/{id}.json``) with
    ``order=created&ascending=true``, so pages stay stable while the forum is active; each
    topic from ``/t/{id}.json`` (first 20 posts and every post id in ``post_stream.stream``),
    the rest from ``/t/{id}/posts.json?post_ids[]=...`` in batches of 20. ``position`` is the
    post number (deleted posts leave gaps), ``revision_id`` the post's ``version``,
    ``modified_at`` its ``updated_at``, ``created_at`` its ``created_at``, ``reply_to`` the
    id of the post replied to.

    An increment lists topics by activity (``order=activity``, newest bump first) down to
    the base's start by the forum's clock (its ``Date`` header) minus
    ``FORUM_INCREMENTAL_MARGIN`` seconds (300), refetches those topics whole, writes the posts
    that differ from the base and tombstones the base posts of those topics that are gone
    (:mod:`crawler.forum.increment`).
    """

    name = "discourse"
    #: One site, one request at a time anyway (CONCURRENT_REQUESTS_PER_DOMAIN=1); with one
    #: request in the downloader, a stop on an error leaves nothing else to send.
    custom_settings = {"CONCURRENT_REQUESTS": 1}
    probe_paths = ("/", "/latest.json", "/t/")

    def __init__(self, *args: Any, category: str | None = None, license: str | None = None,
                 incremental: Any = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Topics this crawl read (or found gone): the scope of an increment's tombstones.
        self.refetched: set[str] = set()
        self.bumped_since: datetime | None = None
        self.base_url = self.base_url.rstrip("/") + "/"
        self.plan = ForumPlan(self.name, self.base_url, truthy(incremental), self.parameters)
        self.category = (category or "").strip() or None
        self.license_arg = license
        self.license: str | None = None
        self.list_path = "latest.json"
        self.seen_topics: set[int] = set()
        self.parameters.update({"category": self.category, "license": license,
                                "list_order": "created ascending"})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DiscourseSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, DiscourseSpider)
        spider.plan.connect_finish(crawler, spider.write_tombstones)
        return spider

    # -- increments ---------------------------------------------------------------------

    @property
    def base_snapshot(self) -> str | None:
        """The snapshot this one builds on (read by the snapshot pipeline)."""
        return self.plan.base_snapshot

    def prepare(self) -> None:
        """Continue an unfinished snapshot, or build on the snapshot chain: list the topics
        bumped since its tip started (a resumed increment: since the same moment)."""
        chain = self.plan.choose(self.store, self.source, self.resume_manifest, self._mismatch)
        if chain is None:
            return
        recorded = self.resume_manifest.parameters if self.resume_manifest else None
        if recorded and recorded.get("bumped_since"):
            self.bumped_since = parse_time(str(recorded["bumped_since"]))
        else:
            margin = self.settings.getfloat("FORUM_INCREMENTAL_MARGIN", 300.0)
            self.bumped_since = high_water_mark(chain[-1]) - timedelta(seconds=margin)
        assert self.bumped_since is not None
        self.parameters.update({"list_order": "activity (bumped) descending",
                                "bumped_since": self.bumped_since.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def _mismatch(self, chain: list[SnapshotManifest]) -> str | None:
        """Why this crawl cannot build on ``chain``: another category."""
        if chain[0].parameters.get("category") != self.category:
            return (f"the base chain starts with {chain[0].snapshot_id}, a crawl of category "
                    f"{chain[0].parameters.get('category')!r}")
        return None

    def write_tombstones(self, response: Response) -> Iterator[DocumentItem]:
        """The increment's last step: tombstones of vanished posts of the topics it read."""
        return self.plan.tombstones(self.refetched, self.license, self.crawler.stats)

    def _api(self, path: str, callback: Any, priority: int = LIST, status_all: bool = False,
             **cb_kwargs: Any) -> Request:
        meta = {"handle_httpstatus_all": True} if status_all else {}
        return Request(urljoin(self.base_url, path), callback=callback, errback=self.page_failed,
                       priority=priority, meta=meta, cb_kwargs=cb_kwargs, dont_filter=True)

    def _json(self, response: Response) -> dict[str, Any] | None:
        try:
            data = json.loads(response.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _not_discourse(self, url: str, why: str) -> Exception:
        return self.fail(url, f"not a Discourse site ({why})",
                         "give the forum's base URL (the page that lists its latest topics), "
                         "or use `commons crawl forum` for other forum software")

    # -- site, licence, categories ------------------------------------------------------

    def crawl_site(self, entry: Response) -> Iterator[Any]:
        html = entry.text if hasattr(entry, "text") else ""
        self.generator = meta_generator(html)
        agent = self.robots["own_agent"]
        for url, allowed in self.robots["verdicts"][agent].items():
            if not allowed:
                raise self.fail(url, f"robots.txt forbids User-Agent {agent!r} here",
                                "the crawl respects it; ask the site's operators for access")
        yield self._api("about.json", self.parse_about, status_all=True)

    def parse_about(self, response: Response) -> Iterator[Any]:
        data = self._json(response)
        about = (data or {}).get("about")
        if response.status != 200 or not isinstance(about, dict):
            why = (f"/about.json answered HTTP {response.status}" if response.status != 200
                   else "/about.json is not Discourse's JSON")
            raise self._not_discourse(response.url, why)
        stats = about.get("stats") or {}
        site = {"name": about.get("title"), "description": about.get("description"),
                "version": about.get("version"), "locale": about.get("locale"),
                "generator": self.generator, "statistics": stats}
        date = response.headers.get("Date")
        if date:  # the forum's clock: an increment on this snapshot starts from it
            with contextlib.suppress(TypeError, ValueError):
                moment = parsedate_to_datetime(date.decode("latin-1")).astimezone(UTC)
                site["server_time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        posts = stats.get("posts_count") or stats.get("post_count")
        yield SnapshotInfoItem(site=site, expected_documents=(
            int(posts) if posts and self.category is None and not self.plan.incremental else None))
        yield self._api("tos", self.parse_tos, status_all=True)

    def parse_tos(self, response: Response) -> Iterator[Any]:
        html = response.text if hasattr(response, "text") else ""
        terms = terms_record(response.url, response.status, html)
        if self.license_arg:
            lic = operator_license(self.license_arg)
        else:
            lic = terms["license"] or {"spdx": None, "url": None, "text": None,
                                       "origin": "none found in /tos"}
        self.license = license_value(lic)
        yield SnapshotInfoItem(license=lic, consent={"terms": terms})
        if self.category is None:
            yield self._list_request(0)
        else:
            yield self._api("categories.json?include_subcategories=true",
                            self.parse_categories)

    def parse_categories(self, response: Response) -> Iterator[Any]:
        data = self._json(response) or {}
        found: dict[str, dict[str, Any]] = {}
        for cat in data.get("category_list", {}).get("categories", []):
            for c in [cat, *(cat.get("subcategory_list") or [])]:
                found[str(c.get("slug"))] = c
                found[str(c.get("id"))] = c
        cat = found.get(str(self.category))
        if cat is None:
            slugs = sorted({str(c.get("slug")) for c in found.values()})
            raise self.fail(response.url, f"no category {self.category!r}",
                            f"use one of: {', '.join(slugs) or '(none visible)'}")
        self.list_path = f"c/{quote(str(cat['slug']))}/{int(cat['id'])}.json"
        self.parameters["category_id"] = int(cat["id"])
        yield SnapshotInfoItem(site={"category": {"id": cat["id"], "slug": cat["slug"],
                                                  "name": cat.get("name")}})
        yield self._list_request(0)

    # -- topic lists --------------------------------------------------------------------

    def _list_request(self, page: int) -> Request:
        if self.bumped_since is not None:  # newest bump first (Discourse's default order)
            query = urlencode({"order": "activity", "page": page})
        else:
            query = urlencode({"order": "created", "ascending": "true", "page": page})
        return self._api(f"{self.list_path}?{query}", self.parse_list, page=page)

    def _bumped_before_base(self, topic: dict[str, Any]) -> bool:
        if self.bumped_since is None:
            return False
        bumped = parse_time(topic.get("bumped_at") or topic.get("last_posted_at")
                            or topic.get("created_at"))
        return bumped is not None and bumped < self.bumped_since

    def parse_list(self, response: Response, page: int) -> Iterator[Any]:
        data = self._json(response)
        topic_list = (data or {}).get("topic_list")
        if not isinstance(topic_list, dict):
            if page == 0:
                raise self._not_discourse(response.url, "the topic list is not Discourse's JSON")
            raise self.fail(response.url, "the topic list is not JSON", "try again later")
        topics = topic_list.get("topics") or []
        older = False
        for topic in topics:
            topic_id = int(topic["id"])
            if self._bumped_before_base(topic):
                # Pinned topics head the list whatever their bump; the rest are in order.
                older = older or not (topic.get("pinned") or topic.get("pinned_globally"))
                continue
            if topic_id in self.seen_topics:
                continue
            self.seen_topics.add(topic_id)
            request = self._api(f"t/{topic_id}.json", self.parse_topic, priority=TOPIC)
            request.meta["topic_id"] = str(topic_id)
            yield request
        if topics and topic_list.get("more_topics_url") and not older:
            yield self._list_request(page + 1)

    # -- topics and posts ---------------------------------------------------------------

    def parse_topic(self, response: Response) -> Iterator[Any]:
        data = self._json(response)
        if data is None or "post_stream" not in data:
            raise self.fail(response.url, "the topic is not Discourse's JSON",
                            "check that the URL is a Discourse forum")
        topic = {"id": int(data["id"]), "title": data.get("title"), "slug": data.get("slug")}
        self.refetched.add(str(topic["id"]))
        stream = [int(i) for i in data["post_stream"].get("stream") or []]
        numbers: dict[int, int] = {}  # post_number -> post id, for reply_to
        first = {int(p["id"]): p for p in data["post_stream"].get("posts") or []}
        yield from self._emit(topic, [first[i] for i in stream if i in first], numbers)
        rest = [i for i in stream if i not in first]
        yield from self._next_batch(topic, rest, numbers)

    def _next_batch(self, topic: dict[str, Any], rest: list[int],
                    numbers: dict[int, int]) -> Iterator[Request]:
        if not rest:
            return
        batch, rest = rest[:POST_BATCH], rest[POST_BATCH:]
        query = "&".join(f"post_ids%5B%5D={i}" for i in batch)
        yield self._api(f"t/{topic['id']}/posts.json?{query}", self.parse_posts,
                        priority=POSTS, topic=topic, batch=batch, rest=rest, numbers=numbers)

    def parse_posts(self, response: Response, topic: dict[str, Any], batch: list[int],
                    rest: list[int], numbers: dict[int, int]) -> Iterator[Any]:
        data = self._json(response) or {}
        posts = {int(p["id"]): p for p in data.get("post_stream", {}).get("posts") or []}
        missing = [i for i in batch if i not in posts]
        if missing:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("discourse/posts_gone", len(missing))
        yield from self._emit(topic, [posts[i] for i in batch if i in posts], numbers)
        yield from self._next_batch(topic, rest, numbers)

    def _emit(self, topic: dict[str, Any], posts: list[dict[str, Any]],
              numbers: dict[int, int]) -> Iterator[DocumentItem]:
        stats = self.crawler.stats
        assert stats is not None
        fetched = datetime.now(UTC)
        for post in posts:
            number = int(post.get("post_number") or 0)
            numbers[number] = int(post["id"])
            if post.get("post_type") in SKIPPED_POST_TYPES or post.get("action_code"):
                stats.inc_value("discourse/small_actions_skipped")
                continue
            if post.get("deleted_at") or post.get("user_deleted"):
                stats.inc_value("discourse/deleted_posts_skipped")
                continue
            replied = post.get("reply_to_post_number")
            author = post.get("username")
            item = DocumentItem(
                doc_id=str(post["id"]), kind="post",
                url=urljoin(self.base_url, f"t/{topic['slug']}/{topic['id']}/{number}"),
                title=topic["title"],
                text=html_to_text(post.get("cooked") or "", COOKED_EXCLUDE),
                fetched_at=fetched, license=self.license,
                authors=[author] if author else [], anon_authors=0 if author else 1,
                last_editor=author, revision_id=post.get("version"),
                modified_at=parse_time(post.get("updated_at") or post.get("created_at")),
                created_at=parse_time(post.get("created_at")),
                parent_id=str(topic["id"]),
                reply_to=str(numbers[replied]) if replied in numbers else None,
                position=number,
            )
            if self.plan.keep(item, stats):
                yield item

    def page_failed(self, failure: Failure) -> None:
        """A topic that is gone or private (404/403) or disallowed is skipped; other
        failures end the crawl."""
        stats = self.crawler.stats
        assert stats is not None
        request = failure.request  # type: ignore[attr-defined]
        if "/t/" in request.url:
            if failure.check(HttpError):
                status = failure.value.response.status  # type: ignore[union-attr]
                if status in (403, 404, 410):
                    if "topic_id" in request.meta:  # gone: its base posts are tombstoned
                        self.refetched.add(request.meta["topic_id"])
                    stats.inc_value(f"discourse/topics_skipped/http_{status}")
                    self.logger.warning("skipped %s (HTTP %s)", request.url, status)
                    return
            if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
                stats.inc_value("discourse/topics_skipped/robots_txt")
                return
        self.on_error(failure)
