"""The MediaWiki spider against a real MediaWiki 1.39 on loopback (see tests/conftest.py).

Faults (maxlag, 5xx, robots.txt refusals) come from a small fault-injecting reverse proxy
(tests/harness/faultproxy.py) in front of the real wiki.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import pyarrow.parquet as pq
import pytest

from commons.api import catalog
from commons.normalize import normalize
from commons.store import DataDir, SnapshotStore
from tests.conftest import CONTACT, ROOT, Wiki, crawl_args, run_cli
from tests.harness.faultproxy import FaultProxy


@pytest.fixture()
def proxy(wiki: Wiki) -> Iterator[FaultProxy]:
    with FaultProxy(wiki.url) as p:
        yield p


@pytest.fixture(scope="module")
def full_crawl(wiki: Wiki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """One complete crawl of the test wiki through a recording proxy."""
    data = tmp_path_factory.mktemp("data")
    with FaultProxy(wiki.url) as p:
        result = run_cli(*crawl_args(p.url, data))
        requests = p.requests
    assert result.returncode == 0, result.stderr
    return data, requests


def test_every_page_arrives_once_with_text_revision_licence_and_contributors(
    wiki: Wiki, full_crawl: tuple[Path, list]
) -> None:
    data, _ = full_crawl
    con = catalog(DataDir(data)).connect()
    rows = con.execute(
        "SELECT doc_id, title, text, revision_id, license, authors, is_redirect, redirect_to, "
        "kind, url, n_words, content_sha1 FROM latest_documents"
    ).fetchall()
    by_title = {r[1]: r for r in rows}
    assert len(by_title) == len(rows), "a page arrived twice"
    seeded = {p.title: p for p in wiki.pages}
    assert set(seeded) <= set(by_title)
    assert len(rows) == len(seeded) + 1  # + MediaWiki's own Main Page
    for title, page in seeded.items():
        doc_id, _, text, revid, licence, authors, is_redirect, target, kind, url, *_ = (
            by_title[title]
        )
        assert doc_id == str(page.page_id)
        assert revid == page.latest_revid
        assert licence == "CC-BY-SA-4.0"
        assert kind == "page"
        assert url.endswith("/wiki/" + title.replace(" ", "_"))
        assert is_redirect == page.is_redirect
        if page.is_redirect:
            assert target == page.redirect_target
            continue
        assert set(page.editors) <= set(authors), title
        normalised = normalize(text)
        for paragraph in page.paragraphs:
            assert normalize(paragraph) in normalised, f"{title}: paragraph missing"
        for heading in page.headings:
            assert f"\n\n{heading}\n\n" in f"\n\n{text}\n\n", f"{title}: heading not a paragraph"
        assert "{{" not in text and "[[" not in text and "'''" not in text


def test_continuation_polite_requests_and_manifest(full_crawl: tuple[Path, list]) -> None:
    data, requests = full_crawl
    page_requests = [r for r in requests if "generator=allpages" in r.path]
    assert len(page_requests) >= 3, "expected > 2 API batches (continuation)"
    params = [parse_qs(urlsplit(r.path).query) for r in page_requests]
    assert all(p["maxlag"] == ["5"] and p["formatversion"] == ["2"] for p in params)
    assert any("gapcontinue" in p for p in params[1:])
    assert requests[0].path == "/robots.txt"
    assert all(CONTACT in (r.user_agent or "") for r in requests)
    assert all(r.path.split("?")[0] in {"/robots.txt", "/", "/wiki/Main_Page",
                                        "/.well-known/tdmrep.json",
                                        "/api.php", "/w/api.php"} for r in requests)
    store = SnapshotStore(DataDir(data))
    (manifest,) = store.manifests("testwiki")
    assert manifest.status == "complete"
    assert manifest.documents > 100 and manifest.expected_documents
    assert manifest.license["spdx"] == "CC-BY-SA-4.0"
    assert manifest.robots["status"] == 200 and "User-agent" in manifest.robots["text"]
    assert manifest.robots["allowed"]["commons-provenance"] is True
    assert set(manifest.robots["allowed"]) >= {"GPTBot", "CCBot", "ClaudeBot", "*"}
    assert manifest.site["name"] == "Testwiki"
    assert manifest.versions["scrapy"] and manifest.versions["pyarrow"]
    assert manifest.settings["ROBOTSTXT_OBEY"] is True
    assert manifest.settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    parts = store.part_files("testwiki", manifest.snapshot_id)
    assert sum(pq.read_metadata(p).num_rows for p in parts) == manifest.documents


def test_maxlag_retry_after_is_honoured(wiki: Wiki, proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.add_maxlag(match="generator=allpages", times=1, retry_after=2)
    result = run_cli(*crawl_args(proxy.url, tmp_path, "lagged", "--limit", "60"))
    assert result.returncode == 0, result.stderr
    pages = [r for r in proxy.requests if "generator=allpages" in r.path]
    assert pages[0].faulted and not pages[1].faulted
    assert pages[1].path == pages[0].path  # the same request, retried
    # Behaviour, not speed: the retry must not come before the server's Retry-After.
    assert pages[1].time - pages[0].time >= 1.9
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("lagged")
    assert m.status == "complete" and m.documents == 60
    assert m.stats.get("retry_after/count") == 1


def test_503_with_retry_after_then_success(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.add_unavailable(match="generator=allpages", times=2, retry_after=1, status=503)
    result = run_cli(*crawl_args(proxy.url, tmp_path, "flaky", "--limit", "10"))
    assert result.returncode == 0, result.stderr
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("flaky")
    assert m.status == "complete" and m.documents == 10


def test_persistent_5xx_fails_with_one_line_and_no_complete_snapshot(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.add_fault("generator=allpages", 500, {"Content-Type": "text/html"}, b"<h1>boom</h1>",
                    times=-1)
    result = run_cli(*crawl_args(proxy.url, tmp_path, "broken"))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HTTP 500" in lines[0] and proxy.url in lines[0]
    assert "Traceback" not in result.stderr
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("broken")
    assert m.status == "failed" and "HTTP 500" in (m.error or "")
    con = catalog(DataDir(tmp_path)).connect()
    assert con.execute("SELECT count(*) FROM latest_documents").fetchone() == (0,)


def test_robots_txt_refusal(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.set_robots_txt("User-agent: commons-provenance\nDisallow: /\n")
    result = run_cli(*crawl_args(proxy.url, tmp_path, "refused"))
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "robots.txt forbids" in line and proxy.url in line
    assert not [r for r in proxy.requests if "api.php" in r.path], "crawled despite robots.txt"
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("refused")
    assert m.status == "failed"


def test_robots_txt_crawl_delay_is_enforced(proxy: FaultProxy, tmp_path: Path) -> None:
    proxy.set_robots_txt("User-agent: *\nCrawl-delay: 1\nAllow: /\n")
    result = run_cli(*crawl_args(proxy.url, tmp_path, "slowed", "--limit", "100"))
    assert result.returncode == 0, result.stderr
    api = [r for r in proxy.requests if "api.php" in r.path]
    gaps = [b.time - a.time for a, b in zip(api, api[1:], strict=False)]
    assert len(gaps) >= 2 and min(gaps) >= 0.95, gaps
    (m,) = SnapshotStore(DataDir(tmp_path)).manifests("slowed")
    assert m.robots["crawl_delay"] == 1.0
    assert m.stats.get("crawl_delay/enforced") == 1.0


def test_not_a_mediawiki(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>just a page</body></html>")
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1",
                               "--directory", str(site)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = line.split(" port ")[1].split()[0]
        result = run_cli(*crawl_args(f"http://127.0.0.1:{port}/", tmp_path / "d", "plain"))
    finally:
        server.terminate()
        server.wait()
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "no MediaWiki Action API found" in line and "api.php" in line


def test_unreachable_url(tmp_path: Path) -> None:
    result = run_cli(*crawl_args("http://127.0.0.1:9/", tmp_path, "gone"))
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "http://127.0.0.1:9/" in line and "unreachable" in line


@pytest.mark.parametrize("contact", ["", "nobody"])
def test_refuses_to_crawl_without_contact(wiki: Wiki, tmp_path: Path, contact: str) -> None:
    args = crawl_args(wiki.url, tmp_path)
    args[args.index("--contact") + 1] = contact
    result = run_cli(*args, env={"COMMONS_CONTACT": ""})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--contact" in line
    assert not (tmp_path / "snapshots").exists()


def test_sigkill_leaves_readable_parts_and_no_complete_snapshot(
    wiki: Wiki, proxy: FaultProxy, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMMONS_BATCH_ROWS": "10"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "commons.cli", *crawl_args(proxy.url, tmp_path, "killed"),
         "--delay", "0.3"],  # slow enough that the kill lands mid-crawl
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    snap_root = tmp_path / "snapshots" / "source=killed"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list(snap_root.glob("snapshot=*/part-*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    parts = list(snap_root.glob("snapshot=*/part-*.parquet"))
    assert len(parts) >= 2
    for part in parts:
        assert pq.read_table(part).num_rows == 10
    manifest = json.loads(next(snap_root.glob("snapshot=*/_manifest.json")).read_text())
    assert manifest["status"] == "running"
    con = catalog(DataDir(tmp_path)).connect()
    assert con.execute("SELECT count(*) FROM latest_documents").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 10 * len(parts)
    assert con.execute("SELECT status FROM snapshots").fetchall() == [("running",)]


def test_sql_formats_and_persistent_catalog(full_crawl: tuple[Path, list], tmp_path: Path) -> None:
    data, _ = full_crawl
    table = run_cli("sql", "SELECT source, count(*) AS n FROM documents GROUP BY 1",
                    "--data", str(data))
    assert table.returncode == 0 and "testwiki" in table.stdout
    csv_out = run_cli("sql", "SELECT count(*) AS n FROM latest_documents", "--format", "csv",
                      "--data", str(data))
    n = int(csv_out.stdout.splitlines()[1])
    assert n > 100
    out = tmp_path / "docs.parquet"
    pq_out = run_cli("sql", "SELECT doc_id, title FROM documents", "--format", "parquet",
                     "--output", str(out), "--data", str(data))
    assert pq_out.returncode == 0 and pq.read_table(out).num_rows == n
    bad = run_cli("sql", "SELECT nope FROM documents", "--data", str(data))
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    db = tmp_path / "commons.duckdb"
    assert run_cli("catalog", "--db", str(db), "--data", str(data)).returncode == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM latest_documents").fetchone() == (n,)
    assert con.execute("SELECT status FROM snapshots").fetchall() == [("complete",)]
