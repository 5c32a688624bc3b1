"""The ``phpbb`` preset against pages with phpBB 3.3's prosilver markup structure.

phpBB itself is not runnable here (PHP web installer, not packaged by Debian), so
tests/harness/phpbb_fixture.py renders prosilver's markup from seeded ground truth: an index
with a subforum, paginated forums with a global announcement on each, topics over three
pages, quotes, signatures, edit notices, a guest post, and a fresh ``sid=`` in every link.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commons.catalog import Catalog
from commons.store import DataDir, SnapshotStore
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
    cur = Catalog(DataDir(data)).connect().execute(
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
    docs = Catalog(DataDir(data)).connect().execute(
        "SELECT count(*) FROM documents WHERE url LIKE '%sid=%'").fetchone()
    assert docs == (0,)
