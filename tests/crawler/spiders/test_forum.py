"""The HTML forum spider against a real django-spirit forum on loopback.

The forum (PyPI ``django-spirit`` on Django and SQLite, tests/harness/spirit.py) is seeded
through Spirit's own forms, so the pages are what Spirit renders: 36 topics over 4 index
pages, long topics over 3 pages, 6 authors, edited and removed comments, quotes. Requests go
through the recording proxy of tests/harness/faultproxy.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotStore
from crawler.forum.spec import preset_names
from tests.conftest import CONTACT, ROOT, run_cli
from tests.harness.faultproxy import FaultProxy, RecordedRequest
from tests.harness.spirit import DEFAULT_ROBOTS, SpiritServer

PRESET = ROOT / "crawler" / "presets" / "spirit.toml"


def forum_args(url: str, data: Path, source: str, *extra: str) -> list[str]:
    return ["crawl", "forum", url, "--source", source, "--contact", CONTACT, "--delay", "0",
            "--quiet", "--data", str(data), *extra]


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpiritServer]:
    server = SpiritServer(tmp_path_factory.mktemp("spirit"))
    server.seed(threads=36, seed=0)
    with server:
        yield server


@pytest.fixture(scope="module")
def crawl(forum: SpiritServer,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[RecordedRequest]]:
    """One complete crawl of the forum through the recording proxy."""
    data = tmp_path_factory.mktemp("data")
    with FaultProxy(forum.url) as proxy:
        base = proxy.url
        result = run_cli(*forum_args(base + "/", data, "spirit", "--preset", "spirit",
                                     "--license", "CC-BY-SA-4.0"))
        requests = proxy.requests
    assert result.returncode == 0, result.stderr
    assert "complete, 2" in result.stdout
    return data, base, requests


def _posts(data: Path) -> dict[str, dict[str, Any]]:
    con = catalog(DataDir(data)).connect()
    cur = con.execute("SELECT * FROM latest_documents")
    columns = [d[0] for d in cur.description]
    rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    by_id = {r["doc_id"]: r for r in rows}
    assert len(by_id) == len(rows), "a post arrived twice"
    return by_id


def test_every_post_arrives_once_with_text_author_thread_and_order(
    forum: SpiritServer, crawl: tuple[Path, str, list[RecordedRequest]]
) -> None:
    data, base, _ = crawl
    posts = _posts(data)
    threads = forum.truth["threads"]
    expected = [(t, p) for t in threads for p in t["posts"]]
    assert len(threads) == 36 and len({p["author"] for _, p in expected}) == 6
    assert set(posts) == {str(p["id"]) for _, p in expected}
    edited = quoted = 0
    for thread, post in expected:
        row = posts[str(post["id"])]
        assert row["kind"] == "post"
        assert row["text"] == "\n\n".join(post["paragraphs"]), post["id"]
        assert row["authors"] == [post["author"]] and row["last_editor"] == post["author"]
        assert row["parent_id"] == str(thread["id"]) and row["title"] == thread["title"]
        assert row["position"] == post["position"]
        assert row["modified_at"] == datetime.fromisoformat(post["date"])
        assert row["created_at"] == datetime.fromisoformat(post["date"])
        assert row["url"] == f"{base}/comment/{post['id']}/find/"
        assert row["license"] == "CC-BY-SA-4.0"
        assert row["revision_id"] == (1 if post["edited"] else None)
        edited += post["edited"]
        if post["quotes"] is not None:
            quoted += 1
            source = next(p for _, p in expected if p["id"] == post["quotes"])
            assert source["paragraphs"][0] not in row["text"], "quoted text kept in the reply"
    removed = [r for t in threads for r in t["removed"]]
    assert edited and quoted and removed
    assert not {str(r) for r in removed} & set(posts)


def test_threads_view_concatenates_posts_in_order(
    forum: SpiritServer, crawl: tuple[Path, str, list[RecordedRequest]]
) -> None:
    data, _, _ = crawl
    con = catalog(DataDir(data)).connect()
    rows = con.execute("SELECT doc_id, kind, title, text, authors, source, created_at, "
                       "modified_at FROM threads").fetchall()
    truth = {str(t["id"]): t for t in forum.truth["threads"]}
    assert {r[0] for r in rows} == set(truth) and len(rows) == len(truth)
    for doc_id, kind, title, text, authors, source, created, modified in rows:
        thread = truth[doc_id]
        assert kind == "thread" and source == "spirit" and title == thread["title"]
        assert text == "\n\n".join("\n\n".join(p["paragraphs"]) for p in thread["posts"])
        assert authors == sorted({p["author"] for p in thread["posts"]})
        dates = [datetime.fromisoformat(p["date"]) for p in thread["posts"]]
        assert created == min(dates) and modified == max(dates)


def test_requests_are_polite_in_scope_and_each_page_once(
    forum: SpiritServer, crawl: tuple[Path, str, list[RecordedRequest]]
) -> None:
    data, _, requests = crawl
    assert requests[0].path == "/robots.txt"
    assert all(CONTACT in (r.user_agent or "") for r in requests)
    pages = [r.path for r in requests if r.path != "/robots.txt"]
    assert len(pages) == len(set(pages)), "a page was fetched twice"
    assert not [p for p in pages if p.startswith(("/user/", "/search/", "/st/admin/"))]
    index_pages = [p for p in pages if p.startswith("/?page=")]
    assert sorted(index_pages) == ["/?page=2", "/?page=3", "/?page=4"]
    long_threads = [t for t in forum.truth["threads"] if len(t["posts"]) > 20]
    assert long_threads
    for thread in long_threads:
        assert f"{thread['url_path']}?page=3" in pages
    (manifest,) = SnapshotStore(DataDir(data)).manifests("spirit")
    assert manifest.status == "complete" and manifest.crawler == "forum"
    assert manifest.documents == sum(len(t["posts"]) for t in forum.truth["threads"])
    assert manifest.parameters["forum"]["name"] == "spirit"
    assert len(manifest.parameters["forum"]["sha256"]) == 64
    assert manifest.license["spdx"] == "CC-BY-SA-4.0"
    assert manifest.license["origin"] == "operator (--license)"
    assert manifest.site["name"].endswith("Commons test forum")
    assert manifest.robots["allowed"]["commons-provenance"] is True
    assert manifest.stats["forum/thread_pages"] >= 36


def test_selectors_that_match_nothing_fail_after_the_first_page(
    forum: SpiritServer, tmp_path: Path
) -> None:
    spec = tmp_path / "broken.toml"
    spec.write_text(PRESET.read_text().replace('post = "div.comments_list__comment"',
                                               'post = "div.no-such-post"'))
    with FaultProxy(forum.url) as proxy:
        result = run_cli(*forum_args(proxy.url + "/", tmp_path / "d", "broken", "--selectors",
                                     str(spec)))
        threads = [r for r in proxy.requests if r.path.startswith("/topic/")]
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert str(spec) in line and "[thread] post" in line and "div.no-such-post" in line
    assert len(threads) <= 2, "crawled on after the first thread page"
    (manifest,) = SnapshotStore(DataDir(tmp_path / "d")).manifests("broken")
    assert manifest.status == "failed"
    con = catalog(DataDir(tmp_path / "d")).connect()
    assert con.execute("SELECT count(*) FROM latest_documents").fetchone() == (0,)


def test_wrong_preset_fails_on_the_entry_page(forum: SpiritServer, tmp_path: Path) -> None:
    assert preset_names() == ["phpbb", "spirit"]
    with FaultProxy(forum.url) as proxy:
        result = run_cli(*forum_args(proxy.url + "/", tmp_path, "wrong", "--preset", "phpbb"))
        paths = [r.path for r in proxy.requests]
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "preset phpbb" in line and "no threads or boards on the first page" in line
    assert not [p for p in paths if p.startswith("/topic/")]


@pytest.mark.parametrize("change, expected", [
    (("[post]", "[post]\nauthr = 'x'"), "unknown key 'authr' in [post]"),
    (('body = ".comment__text"', 'body = "div[[["'), "[post] body"),
    (("thread_id = '/topic/(\\d+)/'", "thread_id = '(unclosed'"), "[board] thread_id"),
])
def test_bad_selectors_file_is_one_line_naming_file_and_key(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    spec = tmp_path / "mine.toml"
    text = PRESET.read_text()
    assert change[0] in text
    spec.write_text(text.replace(change[0], change[1], 1))
    result = run_cli(*forum_args("http://127.0.0.1:9/", tmp_path / "d", "bad", "--selectors",
                                 str(spec)))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert str(spec) in line and expected in line
    assert not (tmp_path / "d").exists()


def test_preset_or_selectors_is_required(tmp_path: Path) -> None:
    result = run_cli(*forum_args("http://127.0.0.1:9/", tmp_path, "none"))
    assert result.returncode == 2 and "--preset" in result.stderr


def test_thread_disallowed_by_robots_txt_is_skipped(forum: SpiritServer, tmp_path: Path) -> None:
    skipped = forum.truth["threads"][4]
    forum.set_robots_txt(DEFAULT_ROBOTS + f"Disallow: {skipped['url_path']}\n")
    try:
        result = run_cli(*forum_args(forum.url, tmp_path, "polite", "--preset", "spirit"))
    finally:
        forum.set_robots_txt(DEFAULT_ROBOTS)
    assert result.returncode == 0, result.stderr
    posts = _posts(tmp_path)
    assert not {p for p in posts.values() if p["parent_id"] == str(skipped["id"])}
    others = [p for t in forum.truth["threads"] if t is not skipped for p in t["posts"]]
    assert set(posts) == {str(p["id"]) for p in others}
    (manifest,) = SnapshotStore(DataDir(tmp_path)).manifests("polite")
    assert manifest.stats["forum/pages_skipped/robots_txt"] == 1
    assert manifest.license["spdx"] is None
