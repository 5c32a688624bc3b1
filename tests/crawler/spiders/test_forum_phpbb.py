"""The ``phpbb`` preset against pages with phpBB 3.3's prosilver markup structure.

phpBB itself is not runnable here (PHP web installer, not packaged by Debian), so
tests/harness/phpbb_fixture.py renders prosilver's markup from seeded ground truth: an index
with a subforum, paginated forums with a global announcement on each, topics over three
pages, quotes, signatures, edit notices, a guest post, and a fresh ``sid=`` in every link.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotManifest, SnapshotStore
from crawler.forum.pagevalidators import PAGES_NAME
from pipelines.scheduler import Scheduler
from pipelines.sources import load_sources
from tests.conftest import CONTACT, run_cli
from tests.harness.phpbb_fixture import POSTS_PER_PAGE, PhpbbFixture


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PhpbbFixture, Path]]:
    data = tmp_path_factory.mktemp("data")
    with PhpbbFixture() as fixture:
        result = run_cli("crawl", "forum", fixture.url, "--source", "board", "--preset",
                         "phpbb", "--contact", CONTACT, "--delay", "0", "--quiet",
                         "--data", str(data))
        assert result.returncode == 0, result.stderr
        yield fixture, data


def test_every_post_once_without_signatures_or_quotes(
    board: tuple[PhpbbFixture, Path]
) -> None:
    fixture, data = board
    cur = catalog(DataDir(data)).connect().execute(
        "SELECT doc_id, parent_id, position, text, authors, reply_to, revision_id, modified_at, "
        "url, title FROM latest_documents")
    rows = {r[0]: r for r in cur.fetchall()}
    expected = [(t, k, p) for t in fixture.topics for k, p in enumerate(t.posts, start=1)]
    assert len(rows) == len(expected) and set(rows) == {str(p.id) for _, _, p in expected}
    origin = fixture.url.rsplit("/", 1)[0]
    signatures = quotes = guests = edits = 0
    for topic, position, post in expected:
        _, parent, pos, text, authors, reply_to, revision, when, url, title = rows[str(post.id)]
        assert text == "\n\n".join(post.paragraphs), post.id
        assert parent == str(topic.id) and pos == position and title == topic.title
        assert authors == [post.author] and when == post.time
        assert url == f"{origin}/viewtopic.php?p={post.id}#p{post.id}"
        assert reply_to == (str(post.quotes.id) if post.quotes else None)
        assert revision == (post.edits or None)
        if post.signature:
            signatures += 1
            assert "Signature of" not in text
        if post.quotes:
            quotes += 1
            assert post.quotes.paragraphs[0] not in text
        guests += post.guest
        edits += bool(post.edits)
    assert signatures and quotes and guests and edits


def test_sessions_stripped_pages_followed_once(board: tuple[PhpbbFixture, Path]) -> None:
    fixture, data = board
    pages = [p for p in fixture.requests if p != "/robots.txt"]
    assert not [p for p in pages if "sid=" in p], "a session id was followed"
    assert len(pages) == len(set(pages)), "a page was fetched twice"
    long_topic = max(fixture.topics, key=lambda t: len(t.posts))
    assert len(long_topic.posts) > 2 * POSTS_PER_PAGE
    for start in (POSTS_PER_PAGE, 2 * POSTS_PER_PAGE):
        assert f"/viewtopic.php?t={long_topic.id}&start={start}" in pages
    announcement = next(t for t in fixture.topics if t.announcement)
    assert pages.count(f"/viewtopic.php?t={announcement.id}") == 1
    assert "/viewforum.php?f=2&start=5" in pages and "/viewforum.php?f=4" in pages
    assert not [p for p in pages if p.startswith(("/memberlist.php", "/search.php"))]
    (m,) = SnapshotStore(DataDir(data)).manifests("board")
    assert m.status == "complete" and m.parameters["forum"]["name"] == "phpbb"
    terms = m.consent["terms"]
    assert terms["status"] == 200 and terms["url"].endswith("/ucp.php?mode=terms")
    assert len(terms["sha256"]) == 64
    docs = catalog(DataDir(data)).connect().execute(
        "SELECT count(*) FROM documents WHERE url LIKE '%sid=%'").fetchone()
    assert docs == (0,)


CONTENT = ("doc_id, kind, url, title, text, n_words, license, authors, anon_authors, "
           "last_editor, revision_id, modified_at, content_sha1, parent_id, reply_to, position")


def _crawl(fixture: PhpbbFixture, data: Path, *extra: str) -> SnapshotManifest:
    fixture.answers.clear()
    result = run_cli("crawl", "forum", fixture.url, "--source", "inc", "--preset", "phpbb",
                     "--contact", CONTACT, "--delay", "0", "--quiet", "--data", str(data),
                     *extra)
    assert result.returncode == 0, result.stderr
    return max(SnapshotStore(DataDir(data)).manifests("inc"), key=lambda m: m.snapshot_id)


def _current(data: Path) -> dict[str, tuple[Any, ...]]:
    rows = catalog(DataDir(data)).connect().execute(
        f"SELECT {CONTENT} FROM latest_documents").fetchall()
    return {r[0]: r for r in rows}


def test_incremental_with_validators_equals_full_crawl(tmp_path: Path) -> None:
    """The validator path: thread pages asked for with If-None-Match/If-Modified-Since
    (validators kept in the base's _pages.json); a 304 keeps the page's base posts, and
    base + increments equals a full crawl of the changed board."""
    data = tmp_path / "chain"
    with PhpbbFixture() as fixture:
        base = _crawl(fixture, data)
        pages = json.loads((DataDir(data).snapshot_dir("inc", base.snapshot_id)
                            / PAGES_NAME).read_text())["pages"]
        topic_pages = [a for a in fixture.answers if a[0].startswith("/viewtopic.php")]
        assert len(pages) == len(topic_pages) and all(p["etag"] for p in pages.values())
        full_bytes = sum(a[2] for a in fixture.answers)

        long_topic = max(fixture.topics, key=lambda t: len(t.posts))
        short = [t for t in fixture.topics if 2 <= len(t.posts) <= POSTS_PER_PAGE
                 and not t.announcement]
        fixture.edit(short[0].posts[1].id, ["Edited after the base crawl."])
        fixture.delete_post(short[1].posts[-1].id)
        gone = short[2]
        fixture.delete_topic(gone.id)
        fixture.reply(short[3].id, "bob", ["A reply after the base crawl."])
        new = fixture.new_topic(3, "A topic opened after the base", "alice", ["First post."])

        increment = _crawl(fixture, data, "--incremental")
        answers = [a for a in fixture.answers if a[0].startswith("/viewtopic.php")]
        assert [a[0] for a in answers if not a[3]] == [f"/viewtopic.php?t={new.id}"]
        changed = {f"/viewtopic.php?t={t.id}" for t in (short[0], short[1], short[3], new)}
        assert {a[0] for a in answers if a[1] == 200} == changed
        not_modified = [a for a in answers if a[1] == 304]
        assert len(not_modified) == len(answers) - len(changed) == len(pages) - 4
        assert f"/viewtopic.php?t={long_topic.id}&start={2 * POSTS_PER_PAGE}" in {
            a[0] for a in not_modified}, "a 304 page's next page was not followed"
        assert increment.stats["forum/thread_pages_not_modified"] == len(not_modified)
        inc_bytes = sum(a[2] for a in fixture.answers)
        assert increment.base_snapshot == base.snapshot_id
        # The reply, the edit, the new topic's post; the deleted post and the gone topic's.
        assert increment.documents == 3 + 1 + len(gone.posts)
        assert increment.stats["forum/tombstones"] == 1 + len(gone.posts)

        idle = _crawl(fixture, data, "--incremental")  # nothing changed since
        assert idle.documents == 0 and idle.stats["forum/thread_pages_not_modified"] == len(
            [a for a in fixture.answers if a[0].startswith("/viewtopic.php")])
        _crawl(fixture, tmp_path / "full")
    assert _current(data) == _current(tmp_path / "full")
    print(f"phpbb: full {len(topic_pages)} topic pages {full_bytes} B; increment "
          f"{len(not_modified)} of {len(answers)} topic pages 304, {inc_bytes} B")


def test_scheduler_runs_forum_increments(board: tuple[PhpbbFixture, Path],
                                         tmp_path: Path) -> None:
    """`incremental = true` in the sources file reaches the forum spider."""
    fixture, _ = board
    sources = tmp_path / "sources.toml"
    sources.write_text(f"""
[sources.board]
kind = "forum"
url = "{fixture.url}"
contact = "{CONTACT}"
schedule = "0 * * * *"
delay = 0.0
incremental = true
options = {{ preset = "phpbb" }}
""")
    data = DataDir(tmp_path / "data")
    now = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    sched = Scheduler(data, load_sources(sources, frozenset({"forum"})), clock=lambda: now)
    (first,) = sched.run_due()
    now = datetime(2026, 3, 2, 3, 30, tzinfo=UTC)
    (second,) = sched.run_due()
    assert (first.status, first.mode, second.status, second.mode) == (
        "complete", "full", "complete", "incremental")
    manifest = SnapshotStore(data).get("board", second.snapshot_id or "")
    assert manifest.base_snapshot == first.snapshot_id and manifest.documents == 0
    assert manifest.stats["forum/thread_pages_not_modified"] == len(
        json.loads((data.snapshot_dir("board", first.snapshot_id or "") / PAGES_NAME)
                   .read_text())["pages"])
