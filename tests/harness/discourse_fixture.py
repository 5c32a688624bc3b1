"""A fixture server that answers like Discourse's public JSON API, on 127.0.0.1.

Discourse itself cannot run on this machine (it needs Ruby on Rails, PostgreSQL, Redis and
its own Docker-based installer), so the Discourse tests replay responses with the shapes of
its documented API instead, built from real prose (``tests/harness/corpus.py``):

- ``/about.json`` -> ``{"about": {"title", "description", "version", "stats": {...}}}``
- ``/categories.json`` -> ``{"category_list": {"categories": [{"id", "slug", "name",
  "subcategory_ids", "subcategory_list"?}]}}``
- ``/latest.json?page=N`` and ``/c/{slug}/{id}.json?page=N`` -> ``{"users": [...],
  "topic_list": {"per_page": 30, "more_topics_url"?, "topics": [...]}}``; ``order=created``
  with ``ascending=true`` lists oldest first, otherwise newest bump first
- ``/t/{id}.json`` -> the topic with ``post_stream.posts`` (its first 20 posts) and
  ``post_stream.stream`` (every post id)
- ``/t/{id}/posts.json?post_ids[]=...`` -> ``{"post_stream": {"posts": [...]}, "id"}``
- ``/tos`` (HTML: the default terms, CC BY-NC-SA 3.0) and ``/`` (HTML with Discourse's
  generator meta tag); anything else is a 404 with Discourse's JSON error body.

The seeded forum has topics over several ``latest`` pages, a topic with more than 20 posts
(one of its posts vanishes between the topic and the posts request), a topic with a
deleted post (a gap in the post numbers), a small-action post, a topic listed but gone
(404), quotes, link previews (oneboxes), edited posts (``version`` 2).

Between crawls a test can change the forum the way Discourse does (:meth:`DiscourseFixture.
reply`, ``edit``, ``delete_post``, ``new_topic``, ``remove_topic``): a new post bumps its
topic (``bumped_at``), an edit bumps it only when the post is the topic's last (Discourse's
``PostRevisor#bump_topic``), deleting a post bumps nothing. ``/latest.json`` without
``order=created&ascending=true`` lists topics by ``bumped_at``, newest first (Discourse's
``order=activity``). Every answer carries the server's ``Date`` header.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.harness.corpus import prose_paragraphs
from tests.harness.httpfixture import LoopbackFixture

USERS = ("alice", "bob_b", "chandra", "dmitri", "erin")
CATEGORIES: tuple[dict[str, Any], ...] = (
    {"id": 5, "slug": "general", "name": "General", "parent": None},
    {"id": 6, "slug": "support", "name": "Support", "parent": None},
    {"id": 7, "slug": "support-linux", "name": "Linux", "parent": 6},
)
EPOCH = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
PER_PAGE = 30
CHUNK = 20
BIG_TOPIC, GAP_TOPIC, ACTION_TOPIC, GONE_TOPIC = 10, 20, 30, 40  # indexes of special topics
ONEBOX_TEXT = "Preview text quoted from another site"
TOS_HTML = """<!DOCTYPE html><html><head><title>Terms of Service - Fixture Forum</title>
<meta name="generator" content="Discourse 3.2.1 - https://github.com/discourse/discourse">
</head><body><div id="main"><h1>Terms of Service</h1>
<p>User contributions are licensed under a <a href="https://creativecommons.org/licenses/\
by-nc-sa/3.0/deed.en_US">Creative Commons Attribution-NonCommercial-ShareAlike 3.0 License</a>.
</p></div></body></html>"""


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class FixturePost:
    """Ground truth for one post; ``visible`` posts must be in the snapshot."""

    id: int
    number: int
    username: str
    paragraphs: list[str]
    created_at: datetime
    version: int = 1
    updated_at: datetime | None = None
    reply_to_number: int | None = None
    reply_to_id: int | None = None
    kind: str = "regular"  # regular | small_action | deleted | vanished
    onebox: bool = False

    @property
    def visible(self) -> bool:
        return self.kind == "regular"

    def cooked(self, quoted: FixturePost | None) -> str:
        parts = []
        if quoted is not None:
            parts.append(f'<aside class="quote no-group" data-username="{quoted.username}" '
                         f'data-post="{quoted.number}" data-topic="1"><div class="title">'
                         f'<div class="quote-controls"></div> {quoted.username}:</div>'
                         f"<blockquote><p>{html.escape(quoted.paragraphs[0])}</p></blockquote>"
                         "</aside>")
        for i, paragraph in enumerate(self.paragraphs):
            text = html.escape(paragraph)
            if i == 0 and " " in text:
                head, tail = text.split(" ", 1)
                text = f"<strong>{head}</strong> {tail}"
            parts.append(f"<p>{text}</p>")
        if self.onebox:
            parts.append('<aside class="onebox allowlistedgeneric"><article class="onebox-body">'
                         f"<h3>Elsewhere</h3><p>{ONEBOX_TEXT}</p></article></aside>")
        return "\n".join(parts)


@dataclass
class FixtureTopic:
    id: int
    title: str
    slug: str
    category_id: int
    created_at: datetime
    posts: list[FixturePost] = field(default_factory=list)
    gone: bool = False
    bumped: datetime | None = None  # set by a bump; else the last post's time

    @property
    def bumped_at(self) -> datetime:
        return self.bumped or self.posts[-1].created_at

    @property
    def stream(self) -> list[int]:
        return [p.id for p in self.posts if p.kind in ("regular", "small_action", "vanished")]


def build_forum(n_topics: int = 70, seed: int = 3) -> list[FixtureTopic]:
    """The seeded forum's topics, oldest first (deterministic for a given corpus)."""
    rng = random.Random(seed)
    pool = list(prose_paragraphs())
    rng.shuffle(pool)
    topics: list[FixtureTopic] = []
    post_id, minute = 1000, 0
    for i in range(n_topics):
        words = pool[-1].split()[:3]
        title = " ".join(w.strip(".,;:()") for w in words).capitalize() + f" {i}"
        slug = "-".join(title.lower().split())
        topic = FixtureTopic(id=100 + 2 * i, title=title, slug=slug,
                             category_id=CATEGORIES[i % 3]["id"], created_at=EPOCH
                             + timedelta(minutes=minute), gone=i == GONE_TOPIC)
        n_posts = 47 if i == BIG_TOPIC else rng.randint(1, 6) + (3 if i in (GAP_TOPIC,
                                                                         ACTION_TOPIC) else 0)
        for number in range(1, n_posts + 1):
            minute += 5
            post = FixturePost(id=post_id, number=number, username=rng.choice(USERS),
                               paragraphs=[pool.pop() for _ in range(rng.choice((1, 1, 2)))],
                               created_at=EPOCH + timedelta(minutes=minute))
            post_id += 1
            earlier = [p for p in topic.posts if p.visible]
            if number >= 3 and earlier and rng.random() < 0.3:
                target = rng.choice(earlier)
                post.reply_to_number, post.reply_to_id = target.number, target.id
            if number > 1 and rng.random() < 0.15:
                post.version = 2
                post.updated_at = post.created_at + timedelta(hours=2)
            post.onebox = rng.random() < 0.1
            if i == GAP_TOPIC and number == 3:
                post.kind = "deleted"
            if i == ACTION_TOPIC and number == n_posts:
                post.kind, post.paragraphs = "small_action", []
            if i == BIG_TOPIC and number == 30:
                post.kind = "vanished"
            topic.posts.append(post)
        topics.append(topic)
    return topics


class DiscourseFixture(LoopbackFixture):
    """Serve :func:`build_forum` on a free loopback port, in a daemon thread."""

    def __init__(self, n_topics: int = 70, seed: int = 3) -> None:
        self.topics = build_forum(n_topics, seed)
        self.by_id = {t.id: t for t in self.topics}
        self.requests: list[str] = []

    # -- changes between crawls (as Discourse makes them) -------------------------------

    def _find_post(self, post_id: int) -> tuple[FixtureTopic, FixturePost]:
        return next((t, p) for t in self.topics for p in t.posts if p.id == post_id)

    def reply(self, topic_id: int, username: str, paragraphs: list[str]) -> FixturePost:
        """A new post at the end of a topic; bumps the topic."""
        topic = self.by_id[topic_id]
        now = datetime.now(UTC)
        post = FixturePost(id=1 + max(p.id for t in self.topics for p in t.posts),
                           number=topic.posts[-1].number + 1, username=username,
                           paragraphs=paragraphs, created_at=now)
        topic.posts.append(post)
        topic.bumped = now
        return post

    def edit(self, post_id: int, paragraphs: list[str]) -> None:
        """A new version of a post; bumps its topic only if it is the topic's last post."""
        topic, post = self._find_post(post_id)
        post.paragraphs, post.version = paragraphs, post.version + 1
        post.updated_at = datetime.now(UTC)
        if post is topic.posts[-1]:
            topic.bumped = post.updated_at

    def delete_post(self, post_id: int) -> None:
        """A deleted post: gone from the stream, a gap in the numbers, no bump."""
        self._find_post(post_id)[1].kind = "deleted"

    def new_topic(self, title: str, username: str, paragraphs: list[str]) -> FixtureTopic:
        now = datetime.now(UTC)
        topic = FixtureTopic(id=2 + max(self.by_id), title=title,
                             slug="-".join(title.lower().split()), category_id=5,
                             created_at=now)
        topic.posts.append(FixturePost(id=1 + max(p.id for t in self.topics for p in t.posts),
                                       number=1, username=username, paragraphs=paragraphs,
                                       created_at=now))
        self.topics.append(topic)
        self.by_id[topic.id] = topic
        return topic

    def remove_topic(self, topic_id: int) -> None:
        """A topic bumped, then deleted while still listed (its page answers 404)."""
        topic = self.by_id[topic_id]
        topic.bumped, topic.gone = datetime.now(UTC), True

    def visible_posts(self, category_ids: set[int] | None = None) -> list[tuple[FixtureTopic,
                                                                               FixturePost]]:
        """Every (topic, post) a complete snapshot must contain."""
        return [(t, p) for t in self.topics if not t.gone
                and (category_ids is None or t.category_id in category_ids)
                for p in t.posts if p.visible]

    # -- answers ------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if path == "/about.json":
            posts = sum(len(t.posts) for t in self.topics)
            return 200, {"about": {"title": "Fixture Forum", "description": "Replayed API",
                                   "version": "3.2.1", "locale": "en",
                                   "stats": {"topics_count": len(self.topics),
                                             "posts_count": posts, "users_count": len(USERS)}}}
        if path == "/categories.json":
            return 200, {"category_list": {"categories": self._categories()}}
        if path == "/latest.json":
            return 200, self._list(self.topics, query, "/latest")
        if path.startswith("/c/") and path.endswith(".json"):
            cat_id = int(path[:-5].rsplit("/", 1)[1])
            ids = {c["id"] for c in CATEGORIES if cat_id in (c["id"], c["parent"])}
            return 200, self._list([t for t in self.topics if t.category_id in ids], query,
                                   path[:-5])
        if path.startswith("/t/"):
            return self._topic(path, query)
        return 404, {"errors": ["The requested URL or resource could not be found."],
                     "error_type": "not_found"}

    def _categories(self) -> list[dict[str, Any]]:
        def shape(c: dict[str, Any]) -> dict[str, Any]:
            return {"id": c["id"], "name": c["name"], "slug": c["slug"],
                    "topic_count": sum(t.category_id == c["id"] for t in self.topics),
                    "subcategory_ids": [s["id"] for s in CATEGORIES if s["parent"] == c["id"]]}
        top = []
        for c in CATEGORIES:
            if c["parent"] is None:
                entry = shape(c)
                entry["subcategory_list"] = [shape(s) for s in CATEGORIES
                                             if s["parent"] == c["id"]]
                top.append(entry)
        return top

    def _list(self, topics: list[FixtureTopic], query: dict[str, list[str]],
              base: str) -> dict[str, Any]:
        ascending = query.get("ascending") == ["true"] and query.get("order") == ["created"]
        ordered = (sorted(topics, key=lambda t: t.created_at) if ascending else
                   sorted(topics, key=lambda t: t.bumped_at, reverse=True))
        page = int(query.get("page", ["0"])[0])
        chunk = ordered[page * PER_PAGE:(page + 1) * PER_PAGE]
        topic_list: dict[str, Any] = {"can_create_topic": False, "per_page": PER_PAGE,
                                      "topics": [self._summary(t) for t in chunk]}
        if (page + 1) * PER_PAGE < len(ordered):
            order = "ascending=true&order=created&" if ascending else ""
            topic_list["more_topics_url"] = f"{base}?{order}page={page + 1}"
        return {"users": [{"id": i, "username": u} for i, u in enumerate(USERS, 1)],
                "primary_groups": [], "topic_list": topic_list}

    def _summary(self, t: FixtureTopic) -> dict[str, Any]:
        return {"id": t.id, "title": t.title, "fancy_title": t.title, "slug": t.slug,
                "posts_count": len(t.stream), "created_at": _iso(t.created_at),
                "bumped_at": _iso(t.bumped_at), "category_id": t.category_id,
                "pinned": False, "visible": True, "closed": False, "archived": False}

    def _post(self, t: FixtureTopic, p: FixturePost) -> dict[str, Any]:
        quoted = next((q for q in t.posts if q.id == p.reply_to_id), None)
        data: dict[str, Any] = {
            "id": p.id, "name": p.username.title(), "username": p.username,
            "avatar_template": f"/user_avatar/x/{p.username}/{{size}}/1_2.png",
            "created_at": _iso(p.created_at), "cooked": p.cooked(quoted),
            "post_number": p.number, "post_type": 1, "updated_at": _iso(
                p.updated_at or p.created_at), "reply_count": 0,
            "reply_to_post_number": p.reply_to_number, "quote_count": int(quoted is not None),
            "incoming_link_count": 0, "reads": 3, "score": 0.4, "yours": False,
            "topic_id": t.id, "topic_slug": t.slug, "version": p.version, "hidden": False,
            "user_id": USERS.index(p.username) + 1, "trust_level": 1, "deleted_at": None,
            "user_deleted": False, "edit_reason": None, "wiki": False,
        }
        if p.kind == "small_action":
            data.update({"post_type": 3, "action_code": "closed.enabled", "cooked": ""})
        return data

    def _topic(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        topic_id = int(parts[1].removesuffix(".json"))
        topic = self.by_id.get(topic_id)
        if topic is None or topic.gone:
            return 404, {"errors": ["The requested URL or resource could not be found."],
                         "error_type": "not_found"}
        served = {p.id: p for p in topic.posts if p.kind in ("regular", "small_action")}
        if len(parts) == 3 and parts[2] == "posts.json":
            ids = [int(i) for i in query.get("post_ids[]", [])]
            posts = [self._post(topic, served[i]) for i in ids if i in served]
            return 200, {"post_stream": {"posts": posts}, "id": topic.id}
        first = [self._post(topic, served[i]) for i in topic.stream[:CHUNK] if i in served]
        return 200, {"post_stream": {"posts": first, "stream": topic.stream},
                     "timeline_lookup": [], "id": topic.id, "title": topic.title,
                     "fancy_title": topic.title, "slug": topic.slug,
                     "posts_count": len(topic.stream), "category_id": topic.category_id,
                     "created_at": _iso(topic.created_at), "archetype": "regular",
                     "chunk_size": CHUNK}


ROBOTS = ("User-agent: *\nDisallow: /admin/\nDisallow: /auth/\nDisallow: /u/\n"
          "Disallow: /my/\nDisallow: /search\n")
HOME = ('<!DOCTYPE html><html><head><title>Fixture Forum</title><meta name="generator" '
        'content="Discourse 3.2.1 - https://github.com/discourse/discourse"></head>'
        "<body><noscript>Latest topics</noscript></body></html>")


class _Handler(BaseHTTPRequestHandler):
    fixture: DiscourseFixture

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        self.fixture.requests.append(self.path)
        if parts.path == "/robots.txt":
            return self._send(200, ROBOTS.encode(), "text/plain; charset=utf-8")
        if parts.path == "/":
            return self._send(200, HOME.encode(), "text/html; charset=utf-8")
        if parts.path == "/tos":
            return self._send(200, TOS_HTML.encode(), "text/html; charset=utf-8")
        status, data = self.fixture.answer(parts.path, parse_qs(parts.query))
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


DiscourseFixture.handler = _Handler
