"""A fixture server that renders phpBB 3.3 (prosilver) markup, on 127.0.0.1.

phpBB is PHP with MySQL/PostgreSQL/SQLite and a web installer that Debian no longer
packages, so the phpBB preset is tested against pages with prosilver's markup structure
instead (``styles/prosilver/template/{index,viewforum,viewtopic}_body.html`` and
``pagination.html`` of phpBB 3.3), rendered from seeded ground truth:

- ``index.php``: forums (``a.forumtitle``) with a subforum link (``a.subforum``);
- ``viewforum.php?f=N&start=K``: topic rows (``a.topictitle``, with the mini pagination of
  long topics), ``TOPICS_PER_PAGE`` per page, a global announcement on every forum;
- ``viewtopic.php?t=N&start=K``: ``div.post#pID`` with ``dl.postprofile``, ``p.author``
  (``<time datetime>``), ``div.content`` (``<br>`` line breaks, quotes as
  ``<blockquote><div><cite>... data-post-id</cite>``), the "Last edited" notice and a
  ``div.signature`` outside the content; ``POSTS_PER_PAGE`` per page;
- ``ucp.php?mode=terms``; ``robots.txt``.

Like phpBB for a visitor without cookies, every page puts a fresh ``sid=`` in every link.

Topic pages carry HTTP validators, as a forum behind a caching front end does (whether phpBB
itself sends them was not checked): an ``ETag`` computed from the page without its session
ids and a ``Last-Modified`` from the topic's last change; ``If-None-Match`` (else
``If-Modified-Since``) that still matches is answered ``304 Not Modified`` without a body.
Between crawls a test can change the board (:meth:`PhpbbFixture.reply`, ``edit``,
``delete_post``, ``new_topic``, ``delete_topic``).
"""

from __future__ import annotations

import hashlib
import html
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.harness.corpus import prose_paragraphs
from tests.harness.httpfixture import LoopbackFixture

TOPICS_PER_PAGE = 5
POSTS_PER_PAGE = 5
USERS = ("admin", "alice", "bob", "chandra")
EPOCH = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
ROBOTS = "User-agent: *\nDisallow: /memberlist.php\nDisallow: /search.php\n"


@dataclass
class PhpbbPost:
    id: int
    author: str
    paragraphs: list[str]
    time: datetime
    quotes: PhpbbPost | None = None
    edits: int = 0
    signature: str | None = None
    guest: bool = False


@dataclass
class PhpbbTopic:
    id: int
    forum_id: int
    title: str
    posts: list[PhpbbPost] = field(default_factory=list)
    announcement: bool = False
    changed: datetime | None = None  # last change made by a test (else the last post's time)

    @property
    def last_modified(self) -> datetime:
        return self.changed or max(p.time for p in self.posts)


def build_board(seed: int = 5) -> tuple[dict[int, str], dict[int, int], list[PhpbbTopic]]:
    """(forum id -> name, subforum id -> parent id, topics) of the seeded board."""
    rng = random.Random(seed)
    pool = list(prose_paragraphs())
    rng.shuffle(pool)
    forums = {2: "General discussion", 3: "Support", 4: "Linux support"}
    subforums = {4: 3}
    sizes = {2: 7, 3: 3, 4: 2}
    topics: list[PhpbbTopic] = []
    post_id, minute, topic_id = 10, 0, 1
    for forum_id, count in [(0, 1), *sizes.items()]:
        for k in range(count):
            topic = PhpbbTopic(id=topic_id, forum_id=forum_id or 2, announcement=forum_id == 0,
                               title=" ".join(pool[-1].split()[:4]).strip(".,;:") + f" {k}")
            topic_id += 1
            n_posts = 12 if (forum_id, k) == (2, 1) else rng.randint(1, 4)
            for j in range(n_posts):
                minute += 11
                post = PhpbbPost(id=post_id, author=rng.choice(USERS), time=EPOCH
                                 + timedelta(minutes=minute),
                                 paragraphs=[pool.pop() for _ in range(rng.choice((1, 2, 3)))])
                post_id += rng.choice((1, 1, 2))  # deleted posts leave id gaps
                if j >= 1 and rng.random() < 0.35:
                    post.quotes = rng.choice(topic.posts)
                post.edits = 1 if rng.random() < 0.2 else 0
                if post.author in ("alice", "bob"):
                    post.signature = f"Signature of {post.author}: keep calm and carry on"
                if j == 2 and k == 0:
                    post.author, post.guest, post.signature = "Visitor Guest", True, None
                topic.posts.append(post)
            topics.append(topic)
    return forums, subforums, topics


class PhpbbFixture(LoopbackFixture):
    """Serve :func:`build_board` on a free loopback port, in a daemon thread."""

    entry_path = "/index.php"

    def __init__(self, seed: int = 5) -> None:
        self.forums, self.subforums, self.topics = build_board(seed)
        self.requests: list[str] = []
        #: (path, status, body bytes, whether the request was conditional) of each answer.
        self.answers: list[tuple[str, int, int, bool]] = []

    # -- changes between crawls ---------------------------------------------------------

    def _topic_of(self, post_id: int) -> tuple[PhpbbTopic, PhpbbPost]:
        return next((t, p) for t in self.topics for p in t.posts if p.id == post_id)

    def _touch(self, topic: PhpbbTopic) -> None:
        topic.changed = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    def reply(self, topic_id: int, author: str, paragraphs: list[str]) -> PhpbbPost:
        topic = next(t for t in self.topics if t.id == topic_id)
        post = PhpbbPost(id=1 + max(p.id for t in self.topics for p in t.posts), author=author,
                         paragraphs=paragraphs, time=datetime.now(UTC).replace(microsecond=0))
        topic.posts.append(post)
        self._touch(topic)
        return post

    def edit(self, post_id: int, paragraphs: list[str]) -> None:
        topic, post = self._topic_of(post_id)
        post.paragraphs, post.edits = paragraphs, post.edits + 1
        self._touch(topic)

    def delete_post(self, post_id: int) -> None:
        topic, post = self._topic_of(post_id)
        topic.posts.remove(post)
        for other in topic.posts:
            if other.quotes is post:
                other.quotes = None
        self._touch(topic)

    def new_topic(self, forum_id: int, title: str, author: str,
                  paragraphs: list[str]) -> PhpbbTopic:
        topic = PhpbbTopic(id=1 + max(t.id for t in self.topics), forum_id=forum_id,
                           title=title)
        self.topics.append(topic)
        self.reply(topic.id, author, paragraphs)
        return topic

    def delete_topic(self, topic_id: int) -> None:
        self.topics = [t for t in self.topics if t.id != topic_id]

    def validators(self, path: str, query: dict[str, str]) -> tuple[str, str] | None:
        """(ETag, Last-Modified) of a topic page, None for other pages."""
        topic = next((t for t in self.topics if str(t.id) == query.get("t")), None)
        if path != "/viewtopic.php" or topic is None:
            return None
        page = self._topic(topic, int(query.get("start", 0)), "0" * 32)
        etag = '"' + hashlib.sha1(page.encode("utf-8")).hexdigest()[:20] + '"'
        return etag, format_datetime(topic.last_modified, usegmt=True)

    # -- pages --------------------------------------------------------------------------

    def page(self, path: str, query: dict[str, str]) -> str | None:
        sid = secrets.token_hex(16)
        if path in ("/", "/index.php"):
            body = self._index(sid)
        elif path == "/viewforum.php" and int(query.get("f", 0)) in self.forums:
            body = self._forum(int(query["f"]), int(query.get("start", 0)), sid)
        elif path == "/viewtopic.php":
            topic = next((t for t in self.topics if str(t.id) == query.get("t")), None)
            if topic is None:
                return None
            body = self._topic(topic, int(query.get("start", 0)), sid)
        elif path == "/ucp.php" and query.get("mode") == "terms":
            body = ('<div class="panel"><h2>Terms of use</h2><p>By accessing this board you '
                    "agree to its terms. Posts remain the property of their authors.</p></div>")
        else:
            return None
        return (f'<!DOCTYPE html><html dir="ltr" lang="en-gb"><head><meta charset="utf-8" />'
                f"<title>Fixture Board - Index page</title></head><body id=\"phpbb\">"
                f'<div id="wrap" class="wrap"><div id="page-body" class="page-body">{body}'
                "</div></div></body></html>")

    def _link(self, target: str, sid: str) -> str:
        return html.escape(f"./{target}&sid={sid}" if "?" in target else f"./{target}?sid={sid}")

    def _index(self, sid: str) -> str:
        rows = []
        for forum_id, name in self.forums.items():
            if forum_id in self.subforums:
                continue
            subs = "".join(
                f'<a href="{self._link(f"viewforum.php?f={s}", sid)}" class="subforum read" '
                f'title="No unread posts">{self.forums[s]}</a>'
                for s, parent in self.subforums.items() if parent == forum_id)
            href = self._link(f"viewforum.php?f={forum_id}", sid)
            rows.append(f'<li class="row"><dl class="row-item forum_read"><dt><div '
                        f'class="list-inner"><a href="{href}" class="forumtitle">{name}</a>'
                        f"<br />About {name.lower()}"
                        f'{"<br /><strong>Subforum:</strong> " + subs if subs else ""}'
                        "</div></dt></dl></li>")
        return (f'<div class="forabg"><div class="inner"><ul class="topiclist forums">'
                f'{"".join(rows)}</ul></div></div>')

    def _forum(self, forum_id: int, start: int, sid: str) -> str:
        listed = [t for t in self.topics if t.announcement] + [
            t for t in self.topics if t.forum_id == forum_id and not t.announcement]
        chunk = listed[start:start + TOPICS_PER_PAGE]
        profile = self._link("memberlist.php?mode=viewprofile&u=2", sid)
        rows = []
        for t in chunk:
            mini = ""
            if len(t.posts) > POSTS_PER_PAGE:
                pages = "".join(
                    f'<li><a class="button" href="'
                    f'{self._link(f"viewtopic.php?t={t.id}&start={k}", sid)}">'
                    f"{k // POSTS_PER_PAGE + 1}</a></li>"
                    for k in range(0, len(t.posts), POSTS_PER_PAGE))
                mini = f'<div class="pagination"><ul>{pages}</ul></div>'
            href = self._link(f"viewtopic.php?t={t.id}", sid)
            rows.append(f'<li class="row bg1"><dl class="row-item topic_read"><dt><div '
                        f'class="list-inner"><a href="{href}" class="topictitle">'
                        f"{html.escape(t.title)}</a>{mini}<div class=\"topic-poster\">by "
                        f'<a href="{profile}" class="username">{t.posts[0].author}</a>'
                        f'</div></div></dt><dd class="posts">{len(t.posts) - 1}</dd></dl></li>')
        subs = "".join(f'<li class="row"><a href="{self._link(f"viewforum.php?f={s}", sid)}" '
                       f'class="forumtitle">{self.forums[s]}</a></li>'
                       for s, parent in self.subforums.items() if parent == forum_id)
        pagination = self._pagination(f"viewforum.php?f={forum_id}", start, len(listed),
                                      TOPICS_PER_PAGE, sid)
        href = self._link(f"viewforum.php?f={forum_id}", sid)
        return (f'<h2 class="forum-title"><a href="{href}">{self.forums[forum_id]}</a></h2>'
                f'{"<ul class=topiclist forums>" + subs + "</ul>" if subs else ""}'
                f'<div class="action-bar bar-top">{pagination}</div><div class="forumbg"><ul '
                f'class="topiclist topics">{"".join(rows)}</ul></div>'
                f'<div class="action-bar bar-bottom">{pagination}</div>')

    def _pagination(self, target: str, start: int, total: int, per_page: int, sid: str) -> str:
        if total <= per_page:
            return (f'<div class="pagination">{total} items &bull; Page <strong>1</strong> '
                    "of 1</div>")
        items = []
        if start > 0:
            items.append(f'<li class="arrow previous"><a class="button button-icon-only" href="'
                         f'{self._link(f"{target}&start={start - per_page}", sid)}" rel="prev" '
                         'role="button"><i class="icon fa-chevron-left fa-fw"></i><span '
                         'class="sr-only">Previous</span></a></li>')
        for k in range(0, total, per_page):
            number = k // per_page + 1
            items.append(f'<li class="active"><span>{number}</span></li>' if k == start else
                         f'<li><a class="button" href="{self._link(f"{target}&start={k}", sid)}" '
                         f'role="button">{number}</a></li>')
        if start + per_page < total:
            items.append(f'<li class="arrow next"><a class="button button-icon-only" href="'
                         f'{self._link(f"{target}&start={start + per_page}", sid)}" rel="next" '
                         'role="button"><i class="icon fa-chevron-right fa-fw"></i><span '
                         'class="sr-only">Next</span></a></li>')
        return f'<div class="pagination">{total} items &bull; <ul>{"".join(items)}</ul></div>'

    def _topic(self, topic: PhpbbTopic, start: int, sid: str) -> str:
        pagination = self._pagination(f"viewtopic.php?t={topic.id}", start, len(topic.posts),
                                      POSTS_PER_PAGE, sid)
        posts = "".join(self._post(topic, p, sid) for p in
                        topic.posts[start:start + POSTS_PER_PAGE])
        href = self._link(f"viewtopic.php?t={topic.id}", sid)
        return (f'<h2 class="topic-title"><a href="{href}">{html.escape(topic.title)}</a></h2>'
                f'<div class="action-bar bar-top">{pagination}</div>{posts}'
                f'<div class="action-bar bar-bottom">{pagination}</div>')

    def _post(self, topic: PhpbbTopic, p: PhpbbPost, sid: str) -> str:
        if p.guest:
            who = f'<span class="username">{p.author}</span>'
        else:
            profile = self._link(
                f"memberlist.php?mode=viewprofile&u={USERS.index(p.author) + 2}", sid)
            who = f'<a href="{profile}" class="username">{p.author}</a>'
        body = "<br><br>".join(html.escape(x) for x in p.paragraphs)
        if p.quotes is not None:
            q = p.quotes
            quoter = self._link("memberlist.php?mode=viewprofile&u=3", sid)
            target = self._link(f"viewtopic.php?p={q.id}", sid)
            body = (f'<blockquote><div><cite><a href="{quoter}">{q.author}</a> wrote: '
                    f'<a href="{target}#p{q.id}" data-post-id="{q.id}" onclick="if(document.'
                    f'getElementById(hash.substr(1)))href=hash">\u2191</a><span '
                    f'class="responsive-hide">{_date(q.time)}</span></cite>'
                    f"{html.escape(q.paragraphs[0])}</div></blockquote>{body}")
        edited = _date(p.time + timedelta(hours=1))
        notice = (f'<div class="notice">Last edited by {who} on {edited}, edited {p.edits} '
                  "time in total.</div>" if p.edits else "")
        sig = (f'<div id="sig{p.id}" class="signature">{html.escape(p.signature)}</div>'
               if p.signature else "")
        mini = self._link(f"viewtopic.php?p={p.id}", sid)
        return (f'<div id="p{p.id}" class="post has-profile bg2"><div class="inner">'
                f'<dl class="postprofile" id="profile{p.id}"><dt class="no-profile-rank '
                f'no-avatar"><div class="avatar-container"></div>{who}</dt><dd '
                f'class="profile-posts"><strong>Posts:</strong> 12</dd></dl>'
                f'<div class="postbody"><div id="post_content{p.id}"><h3><a href="#p{p.id}">'
                f"Re: {html.escape(topic.title)}</a></h3>"
                f'<p class="author"><a class="unread" href="{mini}#p{p.id}" title="Post"><i '
                f'class="icon fa-file fa-fw icon-lightgray icon-md"></i><span class="sr-only">'
                f'Post</span></a><span class="responsive-hide">by <strong>{who}</strong> '
                f'&raquo; </span><time datetime="{p.time.isoformat()}">{_date(p.time)}</time>'
                f'</p><div class="content">{body}</div>{notice}{sig}</div></div>'
                f'<div class="back2top"><a href="#top" class="top" title="Top">Top</a></div>'
                '</div></div><hr class="divider" />')


def _date(moment: datetime) -> str:
    return moment.strftime("%a %b %d, %Y %I:%M %p").replace(" 0", " ")


class _Handler(BaseHTTPRequestHandler):
    fixture: PhpbbFixture

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        self.fixture.requests.append(self.path)
        if parts.path == "/robots.txt":
            return self._send(200, ROBOTS, "text/plain; charset=utf-8")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        page = self.fixture.page(parts.path, query)
        if page is None:
            return self._send(404, "<h1>Not found</h1>", "text/html; charset=utf-8")
        validators = self.fixture.validators(parts.path, query)
        if validators is not None and self._not_modified(*validators):
            return self._send(304, "", None, validators)
        self._send(200, page, "text/html; charset=utf-8", validators)

    def _not_modified(self, etag: str, last_modified: str) -> bool:
        """RFC 9110 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
        match = self.headers.get("If-None-Match")
        if match is not None:
            return etag in [m.strip() for m in match.split(",")] or match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        try:
            return since is not None and (parsedate_to_datetime(last_modified)
                                          <= parsedate_to_datetime(since))
        except (TypeError, ValueError):
            return False

    def _send(self, status: int, body: str, content_type: str | None,
              validators: tuple[str, str] | None = None) -> None:
        data = body.encode("utf-8")
        conditional = bool(self.headers.get("If-None-Match")
                           or self.headers.get("If-Modified-Since"))
        self.fixture.answers.append((self.path, status, len(data), conditional))
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if validators is not None:
            self.send_header("ETag", validators[0])
            self.send_header("Last-Modified", validators[1])
        if status != 304:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


PhpbbFixture.handler = _Handler
