"""The Discourse spider against a fixture server with the shapes of Discourse's JSON API.

Discourse itself cannot run on this machine (Ruby on Rails, PostgreSQL, Redis, its own
Docker installer), so tests/harness/discourse_fixture.py replays documented API shapes
built from real prose: 70 topics over 3 ``latest`` pages, a 47-post topic, a deleted-post
gap, a post that vanishes between requests, a small-action post, a topic that is gone.
A 429 with Retry-After comes from the fault-injecting proxy (tests/harness/faultproxy.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotStore
from tests.conftest import CONTACT, ROOT, run_cli
from tests.harness.discourse_fixture import (
    ACTION_TOPIC,
    BIG_TOPIC,
    GAP_TOPIC,
    GONE_TOPIC,
    ONEBOX_TEXT,
    DiscourseFixture,
)
from tests.harness.faultproxy import FaultProxy, RecordedRequest


def discourse_args(url: str, data: Path, source: str, *extra: str) -> list[str]:
    return ["crawl", "discourse", url, "--source", source, "--contact", CONTACT, "--delay",
            "0", "--quiet", "--data", str(data), *extra]


@pytest.fixture(scope="module")
def site() -> Iterator[DiscourseFixture]:
    with DiscourseFixture() as fixture:
        yield fixture


@pytest.fixture(scope="module")
def crawl(site: DiscourseFixture,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[RecordedRequest]]:
    """A complete crawl through the proxy, which answers one topic request with a 429."""
    data = tmp_path_factory.mktemp("data")
    with FaultProxy(site.url) as proxy:
        base = proxy.url
        proxy.add_unavailable(match=f"/t/{site.topics[3].id}.json", times=1, retry_after=1,
                              status=429)
        result = run_cli(*discourse_args(base, data, "disc"))
        requests = proxy.requests
    assert result.returncode == 0, result.stderr
    return data, base, requests


def _rows(data: Path, view: str = "latest_documents") -> list[dict[str, Any]]:
    cur = catalog(DataDir(data)).connect().execute(f"SELECT * FROM {view}")
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def test_every_post_arrives_once_with_text_author_version_and_reply(
    site: DiscourseFixture, crawl: tuple[Path, str, list[RecordedRequest]]
) -> None:
    data, base, _ = crawl
    rows = _rows(data)
    by_id = {r["doc_id"]: r for r in rows}
    assert len(by_id) == len(rows), "a post arrived twice"
    expected = site.visible_posts()
    assert set(by_id) == {str(p.id) for _, p in expected}
    replies = edited = 0
    for topic, post in expected:
        row = by_id[str(post.id)]
        assert row["text"] == "\n\n".join(post.paragraphs), post.id
        assert ONEBOX_TEXT not in row["text"]
        assert row["kind"] == "post" and row["parent_id"] == str(topic.id)
        assert row["title"] == topic.title and row["position"] == post.number
        assert row["authors"] == [post.username] and row["last_editor"] == post.username
        assert row["revision_id"] == post.version
        assert row["modified_at"] == (post.updated_at or post.created_at)
        assert row["created_at"] == post.created_at
        assert row["url"] == f"{base}/t/{topic.slug}/{topic.id}/{post.number}"
        assert row["license"] == "CC-BY-NC-SA-3.0"
        assert row["reply_to"] == (str(post.reply_to_id) if post.reply_to_id else None)
        replies += post.reply_to_id is not None
        edited += post.version > 1
    assert replies and edited
    big = site.topics[BIG_TOPIC]
    assert len(big.posts) > 20
    numbers = sorted(r["position"] for r in rows if r["parent_id"] == str(big.id))
    assert numbers == [n for n in range(1, 48) if n != 30], "vanished post 30 or a batch lost"
    gap = site.topics[GAP_TOPIC]
    gap_numbers = [r["position"] for r in rows if r["parent_id"] == str(gap.id)]
    assert 3 not in gap_numbers and max(gap_numbers) == len(gap.posts)
    gone, action = site.topics[GONE_TOPIC], site.topics[ACTION_TOPIC]
    assert not [r for r in rows if r["parent_id"] == str(gone.id)]
    assert str(action.posts[-1].id) not in by_id


def test_api_requests_pages_batches_and_retry_after(
    site: DiscourseFixture, crawl: tuple[Path, str, list[RecordedRequest]]
) -> None:
    data, _, requests = crawl
    assert requests[0].path == "/robots.txt"
    assert all(CONTACT in (r.user_agent or "") for r in requests)
    lists = [parse_qs(urlsplit(r.path).query) for r in requests
             if r.path.startswith("/latest.json")]
    assert [q["page"] for q in lists] == [["0"], ["1"], ["2"]]
    assert all(q["order"] == ["created"] and q["ascending"] == ["true"] for q in lists)
    batches = [parse_qs(urlsplit(r.path).query)["post_ids[]"] for r in requests
               if "/posts.json" in r.path]
    assert batches and all(len(b) <= 20 for b in batches)
    big = site.topics[BIG_TOPIC]
    assert sum(f"/t/{big.id}/posts.json" in r.path for r in requests) == 2
    topic_paths = [r.path for r in requests if r.path.endswith(".json") and "/t/" in r.path]
    limited = [r for r in requests if r.path == f"/t/{site.topics[3].id}.json"]
    assert [r.status for r in limited] == [429, 200]
    assert limited[1].time - limited[0].time >= 0.95, "retried before Retry-After"
    assert len(topic_paths) == len(site.topics) + 1  # each topic once, plus the retry
    (m,) = SnapshotStore(DataDir(data)).manifests("disc")
    assert m.status == "complete" and m.crawler == "discourse"
    assert m.documents == len(site.visible_posts())
    assert m.expected_documents == sum(len(t.posts) for t in site.topics)
    assert m.stats["retry_after/count"] == 1
    assert m.stats["discourse/posts_gone"] == 1
    assert m.stats["discourse/topics_skipped/http_404"] == 1
    assert m.stats["discourse/small_actions_skipped"] == 1
    assert m.license["spdx"] == "CC-BY-NC-SA-3.0" and "terms" in m.license["origin"]
    terms = m.consent["terms"]
    assert terms["status"] == 200 and len(terms["sha256"]) == 64
    assert m.site["name"] == "Fixture Forum" and m.site["generator"].startswith("Discourse")
    assert m.settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1


def test_threads_view(site: DiscourseFixture,
                      crawl: tuple[Path, str, list[RecordedRequest]]) -> None:
    data, _, _ = crawl
    threads = {r["doc_id"]: r for r in _rows(data, "threads")}
    live = [t for t in site.topics if not t.gone]
    assert set(threads) == {str(t.id) for t in live}
    for topic in live:
        posts = [p for p in topic.posts if p.visible]
        row = threads[str(topic.id)]
        assert row["kind"] == "thread" and row["title"] == topic.title
        assert row["text"] == "\n\n".join("\n\n".join(p.paragraphs) for p in posts)
        assert row["authors"] == sorted({p.username for p in posts})


def test_category_and_operator_license(site: DiscourseFixture, tmp_path: Path) -> None:
    result = run_cli(*discourse_args(site.url, tmp_path, "support", "--category", "support",
                                     "--license", "CC-BY-SA-4.0"))
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path)
    expected = site.visible_posts(category_ids={6, 7})
    assert {r["doc_id"] for r in rows} == {str(p.id) for _, p in expected}
    assert {r["license"] for r in rows} == {"CC-BY-SA-4.0"}
    assert any(p.startswith("/c/support/6.json?") for p in site.requests)
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("support")
    assert m.parameters["category_id"] == 6 and m.license["origin"] == "operator (--license)"


def test_unknown_category_is_one_line(site: DiscourseFixture, tmp_path: Path) -> None:
    result = run_cli(*discourse_args(site.url, tmp_path, "nocat", "--category", "nope"))
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "no category 'nope'" in line and "general" in line and "support-linux" in line


def test_not_a_discourse_site(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>just a page</body></html>")
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1",
                               "--directory", str(site)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = server.stdout.readline().split(" port ")[1].split()[0]
        url = f"http://127.0.0.1:{port}/"
        result = run_cli(*discourse_args(url, tmp_path / "d", "plain"))
    finally:
        server.terminate()
        server.wait()
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "not a Discourse site" in line and f"{url}about.json" in line
    (m,) = SnapshotStore(DataDir(tmp_path / "d")).manifests("plain")
    assert m.status == "failed"


def test_plain_scrapy_crawl(site: DiscourseFixture, tmp_path: Path) -> None:
    """`scrapy crawl discourse -a url=...` works as well as the commons CLI."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "discourse", "-a", f"url={site.url}",
         "-a", "source=viascrapy", "-a", f"contact={CONTACT}", "-a", "category=general",
         "-s", f"COMMONS_DATA={tmp_path}", "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("viascrapy")
    assert m.status == "complete"
    assert m.documents == len(site.visible_posts(category_ids={5}))


#: Columns a full crawl and base + increments must agree on (not when they were fetched).
CONTENT = ("doc_id, kind, url, title, text, n_words, license, authors, anon_authors, "
           "last_editor, revision_id, modified_at, content_sha1, parent_id, reply_to, position")


def _current(data: Path, source: str) -> dict[str, tuple[Any, ...]]:
    rows = catalog(DataDir(data)).connect().execute(
        f"SELECT {CONTENT} FROM latest_documents WHERE source = ?", [source]).fetchall()
    return {r[0]: r for r in rows}


def _crawl(proxy: FaultProxy, data: Path, *extra: str) -> tuple[Any, list[RecordedRequest]]:
    proxy.clear_requests()
    result = run_cli(*discourse_args(proxy.url, data, "inc", *extra))
    assert result.returncode == 0, result.stderr
    manifest = max(SnapshotStore(DataDir(data)).manifests("inc"), key=lambda m: m.snapshot_id)
    return manifest, proxy.requests


def test_full_crawl_equals_base_plus_increments(tmp_path: Path) -> None:
    """Bump topics (replies, an edit of a last post), edit posts with a higher version,
    delete posts, add a topic and remove a bumped one between crawls: the chain base +
    increments equals a full crawl of the final state, and an increment reads only the
    topics bumped since its base."""
    data = tmp_path / "chain"
    with DiscourseFixture() as site, FaultProxy(site.url) as proxy:
        base, _ = _crawl(proxy, data, "--incremental")
        assert base.parameters["mode"] == "full" and base.base_snapshot is None
        assert "no complete snapshot" in base.parameters["incremental_fallback"]
        assert base.site["server_time"]
        live = [t for t in site.topics if not t.gone and len(t.posts) >= 4]
        words = [["Replied after the base snapshot."], ["A second fresh reply."]]
        for round_ in range(2):
            topics = live[round_ * 4:round_ * 4 + 4]
            site.reply(topics[0].id, "erin", words[round_])
            site.reply(topics[1].id, "alice", words[1 - round_])
            middle = next(p for p in topics[0].posts[1:-1] if p.visible)
            site.edit(middle.id, [f"Edited in round {round_}, version two."])  # no bump
            site.delete_post(next(p for p in topics[1].posts[1:-1] if p.visible).id)
            site.edit(topics[2].posts[-1].id, ["The last post, edited: this bumps."])
            site.new_topic(f"Fresh topic {round_}", "bob_b", ["A topic of its own."])
            site.remove_topic(topics[3].id)
            before = _current(data, "inc")
            increment, requests = _crawl(proxy, data, "--incremental")
            assert increment.parameters["mode"] == "incremental"
            assert increment.base_snapshot == base.snapshot_id
            topic_paths = {r.path.split("?")[0] for r in requests if r.path.startswith("/t/")}
            since = datetime.fromisoformat(increment.parameters["bumped_since"])
            bumped = {t.id for t in site.topics if t.bumped_at >= since}
            assert bumped >= {t.id for t in topics} | {site.topics[-1].id}
            assert len(bumped) < len(site.topics) / 4
            assert {int(p.split("/")[2].removesuffix(".json")) for p in topic_paths} == bumped
            assert all("order=activity" in r.path for r in requests
                       if r.path.startswith("/latest.json"))
            assert increment.stats["forum/tombstones"] == len(
                [p for p in topics[3].posts if p.visible]) + 1
            written = catalog(DataDir(data)).connect().execute(
                f"SELECT {CONTENT} FROM documents WHERE snapshot_id = ? AND NOT is_deleted",
                [increment.snapshot_id]).fetchall()
            # Only new or changed posts: 2 replies, 2 edits, 1 new topic, and any reply_to
            # that pointed at the deleted post.
            assert all(before.get(r[0]) != r for r in written) and 5 <= len(written) <= 7
            assert increment.documents == len(written) + increment.stats["forum/tombstones"]
            print(f"discourse increment {round_}: {len(requests)} requests, "
                  f"{sum(r.response_bytes for r in requests)} B, {len(written)} posts written, "
                  f"{increment.stats['forum/tombstones']} tombstones")
            base = increment
        _, full_requests = _crawl(proxy, tmp_path / "full")
        print(f"discourse full crawl: {len(full_requests)} requests, "
              f"{sum(r.response_bytes for r in full_requests)} B")
    assert _current(data, "inc") == _current(tmp_path / "full", "inc")
    chain = SnapshotStore(DataDir(data)).latest_chain("inc")
    assert len(chain) == 3 and chain[1].parameters["bumped_since"] < chain[2].site["server_time"]
