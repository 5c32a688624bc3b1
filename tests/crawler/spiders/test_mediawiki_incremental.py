"""Incremental MediaWiki snapshots against a real MediaWiki 1.39 that the tests edit.

The wiki here is ``scratch_wiki`` (the session ``wiki`` must stay as seeded): pages are
edited, created, deleted, undeleted, moved (with and without a redirect, and out of the
crawled namespace) between crawls, and the chain base + increments must equal a full crawl
of the final state, document for document.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotManifest, SnapshotStore
from tests.conftest import Wiki, crawl_args, run_cli
from tests.harness.faultproxy import FaultProxy, RecordedRequest
from tests.harness.mediawiki import MediaWikiServer, SeededPage

#: Columns a full crawl and base + increments must agree on (not when they were fetched).
CONTENT = ("doc_id, kind, url, title, text, n_words, license, authors, anon_authors, "
           "last_editor, revision_id, modified_at, content_sha1, namespace, is_redirect, "
           "redirect_to")


@pytest.fixture()
def site(scratch_wiki: Wiki) -> tuple[MediaWikiServer, list[SeededPage]]:
    return scratch_wiki.server, scratch_wiki.pages


def crawl(url: str, data: Path, *extra: str) -> SnapshotManifest:
    result = run_cli(*crawl_args(url, data, "incwiki", *extra))
    assert result.returncode == 0, result.stderr
    return max(SnapshotStore(DataDir(data)).manifests("incwiki"), key=lambda m: m.snapshot_id)


def current(data: Path) -> dict[str, tuple]:
    rows = catalog(DataDir(data)).connect().execute(
        f"SELECT {CONTENT} FROM latest_documents WHERE source = 'incwiki'").fetchall()
    return {r[0]: r for r in rows}


def api_bytes(requests: list[RecordedRequest]) -> int:
    return sum(r.response_bytes for r in requests if "api.php" in r.path)


def content_requests(requests: list[RecordedRequest]) -> list[dict[str, list[str]]]:
    """Query parameters of the requests that fetched page content."""
    params = [parse_qs(urlsplit(r.path).query) for r in requests if "api.php" in r.path]
    return [p for p in params if "content" in p.get("rvprop", [""])[0]
            and "Copyrights" not in p.get("titles", [""])[0]]


def test_full_crawl_equals_base_plus_increments(site: tuple[MediaWikiServer, list[SeededPage]],
                                                tmp_path: Path) -> None:
    server, pages = site
    titles = [p.title for p in pages if not p.is_redirect]
    ids = {p.title: str(p.page_id) for p in pages}
    data = tmp_path / "chain"
    with FaultProxy(server.url) as proxy:
        base = crawl(proxy.url, data)
        assert base.status == "complete" and base.base_snapshot is None
        base_requests = proxy.requests

        # Round 1: 2 edits (5% of 40), 2 new pages, 2 deletions, a deletion and re-creation,
        # a move leaving a redirect, a move without one, and a move out of namespace 0.
        for t in titles[0:2]:
            server.edit_page(t, f"Rewritten text of {t}.\n\nA second paragraph.", "Bob")
        server.edit_page("Fresh page one", "A brand new page.", "Chandra")
        server.edit_page("Fresh page two", "Another brand new page.", "Dmitri")
        server.delete_page(titles[3])
        server.delete_page(titles[4])
        server.delete_page(titles[5])
        server.edit_page(titles[5], "The same title, a new page.", "Alice Example")
        server.move_page(titles[6], titles[6] + " renamed")
        server.move_page(titles[7], titles[7] + " renamed", leave_redirect=False)
        server.move_page(titles[8], "User:Bob/" + titles[8], leave_redirect=False)
        proxy.clear_requests()
        inc1 = crawl(proxy.url, data, "--incremental")
        inc1_requests = proxy.requests

        assert inc1.status == "complete" and inc1.base_snapshot == base.snapshot_id
        assert inc1.parameters["mode"] == "incremental"
        assert not [r for r in inc1_requests if "generator=allpages" in r.path]
        fetched = [t for p in content_requests(inc1_requests) for t in p["titles"][0].split("|")]
        # Changed titles only (plus MediaWiki's own Main Page, created at install time,
        # which falls inside the safety margin before the base's start).
        assert set(fetched) - {"Main Page"} == {
            *titles[0:2], "Fresh page one", "Fresh page two", *titles[3:9],
            titles[6] + " renamed", titles[7] + " renamed"}
        assert api_bytes(inc1_requests) < api_bytes(base_requests) / 3
        inc1_rows = catalog(DataDir(data)).connect().execute(
            "SELECT doc_id, is_deleted FROM documents WHERE snapshot_id = ?",
            [inc1.snapshot_id]).fetchall()
        tombstones = {d for d, deleted in inc1_rows if deleted}
        assert tombstones == {ids[titles[3]], ids[titles[4]], ids[titles[5]], ids[titles[8]]}
        assert len(inc1_rows) == inc1.documents < len(titles)

        # Round 2: changes on top of the first increment.
        server.edit_page("Fresh page one", "The new page, edited.", "Bob")
        server.delete_page(titles[0])
        server.undelete_page(titles[4])
        server.move_page(titles[6] + " renamed", titles[6] + " renamed again")
        server.edit_page(titles[7], "The title a page left, reused.", "Bob")
        inc2 = crawl(proxy.url, data, "--incremental")
        assert inc2.base_snapshot == inc1.snapshot_id

        full = crawl(proxy.url, tmp_path / "full")

    chain = SnapshotStore(DataDir(data)).latest_chain("incwiki")
    assert [m.snapshot_id for m in chain] == [base.snapshot_id, inc1.snapshot_id,
                                              inc2.snapshot_id]
    by_chain, by_full = current(data), current(tmp_path / "full")
    assert full.documents == len(by_full)
    assert set(by_chain) == set(by_full)
    for doc_id, row in by_full.items():
        assert by_chain[doc_id] == row, doc_id
    assert ids[titles[4]] in by_chain and ids[titles[0]] not in by_chain  # undeleted, deleted
    manifests = {m.snapshot_id: m for m in SnapshotStore(DataDir(data)).manifests("incwiki")}
    assert manifests[inc2.snapshot_id].parameters["rcstart"] < inc2.started_at


def test_incremental_falls_back_to_full_crawl(site: tuple[MediaWikiServer, list[SeededPage]],
                                              tmp_path: Path) -> None:
    """Without a base, or with a base older than the recent-changes window, --incremental
    makes a full snapshot and says why."""
    server, _ = site
    first = crawl(server.url, tmp_path, "--incremental")
    assert first.base_snapshot is None and first.parameters["mode"] == "full"
    assert "no complete snapshot" in first.parameters["incremental_fallback"]
    # Age the base: started before the wiki's oldest recent change (its 2023 seed).
    path = SnapshotStore(DataDir(tmp_path)).data.snapshot_dir("incwiki", first.snapshot_id)
    manifest = json.loads((path / "_manifest.json").read_text())
    manifest["site"]["server_time"] = manifest["started_at"] = "2022-01-01T00:00:00Z"
    (path / "_manifest.json").write_text(json.dumps(manifest))
    second = crawl(server.url, tmp_path, "--incremental")
    assert second.base_snapshot is None and second.parameters["mode"] == "full"
    assert "recent changes start at" in second.parameters["incremental_fallback"]
    assert second.documents == first.documents
    assert [m.snapshot_id for m in SnapshotStore(DataDir(tmp_path)).latest_chain("incwiki")] \
        == [second.snapshot_id]


def main() -> int:
    """Measure a full crawl against an incremental one after editing a share of the pages."""
    import argparse
    import random
    import shutil
    import time

    parser = argparse.ArgumentParser(
        prog="python -m tests.crawler.spiders.test_mediawiki_incremental")
    parser.add_argument("--pages", type=int, default=130)
    parser.add_argument("--edit", type=float, default=0.05, help="share of pages to edit")
    parser.add_argument("--delay", default="1.0", help="--delay of both crawls")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/incremental-measure"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    with MediaWikiServer(args.workdir / "wiki") as server:
        pages = [p for p in server.seed_default(args.pages, seed=11) if not p.is_redirect]
        data = args.workdir / "data"
        report = {}
        with FaultProxy(server.url) as proxy:
            for label, extra in (("full", ()), ("incremental", ("--incremental",))):
                if label == "incremental":
                    edited = random.Random(1).sample(pages, round(args.edit * len(pages)))
                    for page in edited:
                        server.edit_page(page.title, page.wikitext + "\nOne more line.\n", "Bob")
                proxy.clear_requests()
                started = time.monotonic()
                manifest = crawl(proxy.url, data, "--delay", args.delay, *extra)
                report[label] = {
                    "seconds": round(time.monotonic() - started, 1),
                    "requests": len(proxy.requests),
                    "api_requests": sum("api.php" in r.path for r in proxy.requests),
                    "response_bytes": sum(r.response_bytes for r in proxy.requests),
                    "documents": manifest.documents,
                    "mode": manifest.parameters.get("mode"),
                }
        report["edited_pages"] = {"count": len(edited), "of": len(pages)}
        print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
