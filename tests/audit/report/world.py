"""A report test world: real prose, consent signals recorded at crawl time, two snapshots.

* ``wiki``: 40 pages, CC BY-SA 4.0, one contributor list per page. Snapshot 1 (January)
  had an open robots.txt; snapshot 2 (June) disallows GPTBot and CCBot and publishes a
  ``Content-Usage`` line, and a few pages were deleted in between.
* ``forum``: 8 threads of posts by different people, CC BY-NC-SA 3.0, ``noai`` on its entry
  page and a TDM reservation.
* One planted training set audited twice (``before`` on wiki snapshot 1, ``after`` on
  snapshot 2), so the report has overlap over time.

Consent records are made by the crawler's own parser (``crawler.consent.signals``) from real
robots.txt texts and page headers, exactly as a crawl records them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.config import AuditConfig, RunOptions
from audit.planted import SourceDoc, plant
from audit.run import run_audit
from commons.normalize import content_sha1, words
from commons.store import DataDir, SnapshotManifest, SnapshotWriter
from crawler.consent.signals import page_signals, robots_record
from tests.audit.fixtures import make_pages, make_threads, prose_pools, write_training

OWN_AGENT = "commons-provenance"
ROBOTS_OPEN = "User-agent: *\nAllow: /\n"
ROBOTS_CLOSED = ("User-agent: GPTBot\nDisallow: /\n\nUser-agent: CCBot\nDisallow: /\n\n"
                 "User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n")
NAMES = ("Ada", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
         "Radia", "Niklaus", "Sophie")
WIKI_SNAPSHOTS = ("20240101T000000Z", "20240601T000000Z")
FORUM_SNAPSHOT = "20240301T000000Z"


def _robots(base: str, text: str) -> dict[str, Any]:
    return robots_record(f"{base}robots.txt", 200, text.encode(), OWN_AGENT, [base])


def _when(snapshot_id: str) -> datetime:
    return datetime.strptime(snapshot_id, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _row(base: str, doc: SourceDoc, kind: str, snapshot_id: str, authors: list[str],
         **extra: Any) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id, "kind": kind, "url": f"{base}{doc.doc_id}",
        "title": doc.doc_id.replace("-", " ").title(), "text": doc.text,
        "n_words": len(words(doc.text)), "authors": authors, "anon_authors": len(authors) % 2,
        "last_editor": authors[-1] if authors else None, "revision_id": 1000 + len(doc.text),
        "modified_at": _when(snapshot_id), "fetched_at": _when(snapshot_id),
        "content_sha1": content_sha1(doc.text), "is_redirect": False, "is_deleted": False,
        **extra,
    }


def write_source(data: DataDir, source: str, snapshot_id: str, base: str, rows: list[dict],
                 license: dict[str, Any], robots: str, entry_headers: dict[str, list[str]],
                 entry_html: str, tdmrep: dict[str, Any] | None) -> None:
    """One complete snapshot with licence and consent recorded as a crawl records them."""
    consent: dict[str, Any] = {"entry_page": {"url": base, **page_signals(entry_headers,
                                                                           entry_html)}}
    if tdmrep is not None:
        consent["tdmrep"] = tdmrep
    manifest = SnapshotManifest(
        source=source, snapshot_id=snapshot_id, crawler="mediawiki", base_url=base,
        license=license, robots=_robots(base, robots), consent=consent,
        started_at=_when(snapshot_id).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        user_agent=f"{OWN_AGENT}/0.1.0 (dataset provenance audit; contact: tests@example.org)")
    w = SnapshotWriter(data, manifest, batch_rows=50)
    w.open()
    for r in rows:
        w.add(r)
    w.complete()


@dataclass
class ReportWorld:
    """The data store and what the tests need to know about it."""

    root: Path
    data: DataDir
    training: Path
    wiki_authors: dict[str, list[str]]
    post_authors: dict[str, list[str]]
    deleted_pages: list[str]


def build_report_world(root: Path, seed: int = 5) -> ReportWorld:
    """Write both sources, the training set, and audit it twice (runs before and after)."""
    rng = random.Random(seed)
    src_pool, other_pool = prose_pools()
    pages = make_pages(src_pool[:300], 36, seed, (150, 400)) + make_pages(
        src_pool[300:450], 4, seed + 1, (2000, 2100), prefix="long")
    posts = make_threads(src_pool[450:], 8, seed + 2)
    data = DataDir(root / "data")
    wiki_base, forum_base = "http://wiki.test/wiki/", "http://forum.test/t/"
    wiki_authors = {p.doc_id: rng.sample(NAMES, rng.randint(1, 3)) for p in pages}
    post_authors = {p.doc_id: [NAMES[(i * 5) % len(NAMES)]] for i, p in enumerate(posts)}
    cc_by_sa = {"spdx": "CC-BY-SA-4.0", "url": "https://creativecommons.org/licenses/by-sa/4.0/",
                "text": "Creative Commons Attribution-ShareAlike", "origin": "rightsinfo"}
    forum_rows = [_row(forum_base, p, "post", FORUM_SNAPSHOT, post_authors[p.doc_id],
                       parent_id=p.thread, position=int(p.doc_id.rsplit("-", 1)[1]),
                       license="CC-BY-NC-SA-3.0") for p in posts]
    write_source(data, "forum", FORUM_SNAPSHOT, forum_base, forum_rows,
                 {"spdx": "CC-BY-NC-SA-3.0", "url": None, "text": "CC BY-NC-SA 3.0",
                  "origin": "tos"}, ROBOTS_OPEN,
                 {"x-robots-tag": ["noai, noimageai"]}, "<html><head></head></html>",
                 {"url": "http://forum.test/.well-known/tdmrep.json", "status": 200,
                  "rules": [{"location": "/", "tdm-reservation": 1}]})
    deleted = [p.doc_id for p in pages[:30:6]]
    for snap, robots, keep in ((WIKI_SNAPSHOTS[0], ROBOTS_OPEN, pages),
                               (WIKI_SNAPSHOTS[1], ROBOTS_CLOSED,
                                [p for p in pages if p.doc_id not in deleted])):
        rows = [_row(wiki_base, p, "page", snap, wiki_authors[p.doc_id],
                     license="CC-BY-SA-4.0") for p in keep]
        write_source(data, "wiki", snap, wiki_base, rows, cc_by_sa, robots, {},
                     '<html><head><meta name="robots" content="index, follow"></head></html>',
                     None)
        if snap == WIKI_SNAPSHOTS[0]:
            planted = plant(pages, other_pool, {"copy": 8, "edit": 4, "truncation": 4,
                                                "embedded": 4, "unrelated": 25}, seed)
            threads = plant(posts, other_pool, {"thread": 3}, seed + 5)
            for row in threads.rows:
                row["id"] = "thread-" + row["id"]
            planted.rows += threads.rows
            training = write_training(root / "train.parquet", planted)
        run = "before" if snap == WIKI_SNAPSHOTS[0] else "after"
        config = AuditConfig(run_name=run, inputs=(str(training),), sources=("wiki", "forum"),
                             options=RunOptions(signer="reference", progress=False,
                                                memory_limit="256MB"))
        run_audit(config, data)
    return ReportWorld(root, data, training, wiki_authors, post_authors, deleted)
