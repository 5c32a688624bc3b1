"""Incremental and resumed HTML forum crawls against a real django-spirit forum on loopback.

The forum (PyPI ``django-spirit``, tests/harness/spirit.py) is changed between crawls through
Spirit's own forms and models (tests/harness/spirit_site/mutate.py): replies, edits, removed
comments, a new topic, a removed topic. Django's development server sends no ``ETag`` or
``Last-Modified`` (and each page carries a fresh CSRF token), so the spider fetches every
page and compares posts; the validator path is tested against the phpBB fixture
(tests/crawler/spiders/test_forum_phpbb.py). Kill/resume trials SIGKILL real crawls at
random points.

Run more kill/resume trials by hand: ``python -m tests.crawler.spiders.test_forum_incremental 10``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotManifest, SnapshotStore
from crawler.forum.pagevalidators import PAGES_NAME
from tests.conftest import CONTACT, ROOT, run_cli
from tests.harness.faultproxy import FaultProxy, RecordedRequest
from tests.harness.spirit import SpiritServer

#: Columns a full crawl and base + increments must agree on (not when they were fetched).
CONTENT = ("doc_id, kind, url, title, text, n_words, license, authors, anon_authors, "
           "last_editor, revision_id, modified_at, content_sha1, parent_id, reply_to, position")
#: Small parts, so a killed crawl leaves many durable parts behind.
KILL_ENV = {"COMMONS_BATCH_ROWS": "7"}


def forum_args(url: str, data: Path, source: str, *extra: str) -> list[str]:
    return ["crawl", "forum", url, "--source", source, "--contact", CONTACT, "--delay", "0",
            "--quiet", "--data", str(data), "--preset", "spirit", *extra]


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpiritServer]:
    """A spirit forum of its own (the tests change it): 24 topics, 3 of them 3 pages long."""
    server = SpiritServer(tmp_path_factory.mktemp("spirit_inc"))
    server.seed(threads=24, seed=7)
    with server:
        yield server


def current(data: Path, origin: bool = True) -> dict[str, tuple[Any, ...]]:
    """doc_id -> content of the current posts (URLs without host and port if not origin)."""
    columns = CONTENT if origin else CONTENT.replace(
        "url,", "regexp_replace(url, '^http://[^/]+', '') AS url,")
    rows = catalog(DataDir(data)).connect().execute(
        f"SELECT {columns} FROM latest_documents").fetchall()
    return {r[0]: r for r in rows}


def crawl(proxy: FaultProxy, data: Path, *extra: str) -> tuple[SnapshotManifest,
                                                               list[RecordedRequest], float]:
    proxy.clear_requests()
    started = time.monotonic()
    result = run_cli(*forum_args(proxy.url + "/", data, "board", *extra))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    manifest = max(SnapshotStore(DataDir(data)).manifests("board"), key=lambda m: m.snapshot_id)
    return manifest, proxy.requests, elapsed


def test_full_crawl_equals_base_plus_increment(forum: SpiritServer, tmp_path: Path) -> None:
    threads = forum.truth["threads"]
    posts = [p for t in threads for p in t["posts"]]
    long_thread = next(t for t in threads if len(t["posts"]) > 20)
    short = [t for t in threads if 3 <= len(t["posts"]) <= 8]
    data = tmp_path / "chain"
    with FaultProxy(forum.url) as proxy:
        base, _, _ = crawl(proxy, data)
        assert base.status == "complete" and base.parameters["mode"] == "full"
        assert not (DataDir(data).snapshot_dir("board", base.snapshot_id) / PAGES_NAME).exists()
        # About 5% of the posts: replies, edits, removed comments (one on the first page of
        # a 3-page thread, shifting the rest), a new topic and a removed topic.
        created = forum.mutate([
            {"op": "reply", "topic": long_thread["id"], "author": "bob",
             "text": "A reply at the end of a long thread."},
            {"op": "reply", "topic": short[0]["id"], "author": "erin",
             "text": "A reply to a short thread."},
            {"op": "edit", "comment": short[1]["posts"][1]["id"],
             "text": "This comment was rewritten after the first crawl."},
            {"op": "edit", "comment": long_thread["posts"][-3]["id"],
             "text": "An edit on the last page of a long thread."},
            {"op": "remove_comment", "comment": long_thread["posts"][2]["id"]},
            {"op": "remove_comment", "comment": short[2]["posts"][-1]["id"]},
            {"op": "new_topic", "title": "A topic opened after the base snapshot",
             "author": "chandra", "text": "Its only post so far.", "category": 1},
            {"op": "remove_topic", "topic": short[3]["id"]},
        ])
        assert len(posts) * 0.03 < len(created) < len(posts) * 0.07
        before = current(data)
        increment, inc_requests, inc_time = crawl(proxy, data, "--incremental")
        full, full_requests, full_time = crawl(proxy, tmp_path / "full")
    assert increment.status == "complete" and increment.base_snapshot == base.snapshot_id
    assert increment.parameters["mode"] == "incremental"
    assert not [r for r in inc_requests if r.header("If-None-Match")
                or r.header("If-Modified-Since")], "spirit sent no validators to use"
    assert current(data) == current(tmp_path / "full")

    con = catalog(DataDir(data)).connect()
    written = con.execute(f"SELECT {CONTENT}, is_deleted FROM documents WHERE snapshot_id = ?",
                          [increment.snapshot_id]).fetchall()
    tombstones = {r[0] for r in written if r[-1]}
    assert tombstones == {str(long_thread["posts"][2]["id"]), str(short[2]["posts"][-1]["id"])
                          } | {str(p["id"]) for p in short[3]["posts"]}
    changed = [r[:-1] for r in written if not r[-1]]
    assert all(before.get(r[0]) != r for r in changed), "an unchanged post was rewritten"
    # New: 2 replies and the new topic's post; changed: the short thread's edit, and the
    # long thread's posts after the removed comment (moved up by one; one of them edited).
    shifted = len(long_thread["posts"]) - 3
    assert len(changed) == 3 + 1 + shifted
    assert increment.stats["forum/posts_unchanged"] == len(posts) - 2 - len(
        short[3]["posts"]) - 1 - shifted
    full_bytes = sum(r.response_bytes for r in full_requests)
    inc_bytes = sum(r.response_bytes for r in inc_requests)
    print(f"spirit: full {len(full_requests)} requests {full_bytes} B {full_time:.1f}s, "
          f"{full.documents} rows; increment {len(inc_requests)} requests {inc_bytes} B "
          f"{inc_time:.1f}s, {increment.documents} rows")


@dataclass
class Trial:
    """What happened in one kill/resume trial."""

    seed: int
    mode: str
    kills: list[dict[str, int]] = field(default_factory=list)
    runs: int = 0
    rows: int = 0
    distinct: int = 0
    identical: bool = False


def kill_resume_trial(proxy: FaultProxy, data: Path, seed: int, extra: tuple[str, ...] = (),
                      max_kills: int = 3, kind: str = "forum") -> tuple[Trial, SnapshotManifest]:
    """Crawl source ``board`` into ``data`` (``kind`` forum or discourse), SIGKILLed after a
    random number of requests plus a random pause, resuming until the snapshot completes."""
    rng = random.Random(seed)
    trial = Trial(seed, "incremental" if extra else "full")
    store = SnapshotStore(DataDir(data))
    env = {**os.environ, "PYTHONPATH": str(ROOT), **KILL_ENV}
    known = {m.snapshot_id for m in store.manifests("board")}
    for _ in range(max_kills + 3):
        unfinished = [m for m in store.manifests("board") if m.status != "complete"]
        args = forum_args(proxy.url + "/", data, "board",
                          *(["--resume"] if unfinished else extra))
        if kind == "discourse":
            args = [a for a in args if a not in ("--preset", "spirit")]
            args[1] = "discourse"
        seen = len(proxy.requests)
        proc = subprocess.Popen([sys.executable, "-m", "commons.cli", *args], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        trial.runs += 1
        if len(trial.kills) < max_kills and (not trial.kills or rng.random() < 0.7):
            after, pause = rng.randint(2, 34), rng.uniform(0.0, 0.2)
            while proc.poll() is None and len(proxy.requests) - seen < after:
                time.sleep(0.005)
            time.sleep(pause)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                trial.kills.append({"after_requests": len(proxy.requests) - seen,
                                    "parts_durable": len(list(data.glob(
                                        "snapshots/source=board/snapshot=*/part-*")))})
                continue
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr.decode()
        break
    (manifest,) = [m for m in store.manifests("board") if m.snapshot_id not in known]
    trial.rows, trial.distinct = catalog(DataDir(data)).connect().execute(
        "SELECT count(*), count(DISTINCT doc_id) FROM documents WHERE snapshot_id = ?",
        [manifest.snapshot_id]).fetchone() or (0, 0)
    return trial, manifest


@pytest.fixture(scope="module")
def reference(forum: SpiritServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted crawl of the forum as it is when the kill/resume trials run."""
    data = tmp_path_factory.mktemp("reference")
    with FaultProxy(forum.url) as proxy:
        crawl(proxy, data)
    return data


@pytest.mark.parametrize("seed", [13, 14])
def test_sigkill_then_resume_gives_every_post_once(forum: SpiritServer, reference: Path,
                                                   tmp_path: Path, seed: int) -> None:
    with FaultProxy(forum.url) as proxy:
        trial, manifest = kill_resume_trial(proxy, tmp_path, seed)
    expected = current(reference, origin=False)  # crawled through another proxy port
    trial.identical = current(tmp_path, origin=False) == expected
    print(json.dumps(asdict(trial)))
    assert trial.kills, "the crawl was never killed"
    assert manifest.status == "complete" and manifest.stats.get("resumes", 0) >= 1
    assert trial.rows == trial.distinct == len(expected) == manifest.documents
    assert trial.identical


def main() -> int:
    """Kill/resume trials by hand: spirit full and incremental crawls, Discourse crawls."""
    import shutil
    import tempfile

    from tests.harness.discourse_fixture import DiscourseFixture

    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = Path(tempfile.mkdtemp(prefix="forum-trials-"))
    print(f"working in {work} (delete it afterwards)", flush=True)
    server = SpiritServer(work / "spirit")
    server.seed(threads=24, seed=7)
    with server, FaultProxy(server.url) as proxy:
        reference = work / "reference"
        crawl(proxy, reference)
        expected = current(reference)
        for seed in range(trials):
            for mode in ("full", "incremental"):
                data = work / f"{mode}-{seed}"
                extra: tuple[str, ...] = ()
                if mode == "incremental":  # on a base that lacks a third of the posts
                    shutil.copytree(reference, data)
                    (part,) = data.glob("snapshots/source=board/snapshot=*/part-*.parquet")
                    _drop_every_third_row(part)
                    extra = ("--incremental",)
                trial, _ = kill_resume_trial(proxy, data, 100 + seed, extra)
                trial.identical = current(data) == expected
                print(json.dumps(asdict(trial)), flush=True)
    with DiscourseFixture() as site, FaultProxy(site.url) as proxy:
        reference = work / "discourse-reference"
        result = run_cli("crawl", "discourse", proxy.url, "--source", "board", "--contact",
                         CONTACT, "--delay", "0", "--quiet", "--data", str(reference))
        assert result.returncode == 0, result.stderr
        for seed in range(trials):
            for mode in ("full", "incremental"):
                data = work / f"discourse-{mode}-{seed}"
                extra = ()
                if mode == "incremental":  # a base older than every topic, lacking posts
                    shutil.copytree(reference, data)
                    (part,) = data.glob("snapshots/source=board/snapshot=*/part-*.parquet")
                    _drop_every_third_row(part)
                    manifest = part.parent / "_manifest.json"
                    facts = json.loads(manifest.read_text())
                    facts["site"]["server_time"] = "2000-01-01T00:00:00Z"
                    manifest.write_text(json.dumps(facts))
                    extra = ("--incremental",)
                trial, _ = kill_resume_trial(proxy, data, 200 + seed, extra, kind="discourse")
                trial.identical = current(data) == current(reference)
                print(json.dumps(asdict(trial)), flush=True)
    return 0


def _drop_every_third_row(part: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(part)
    pq.write_table(table.take([i for i in range(table.num_rows) if i % 3]), part)


if __name__ == "__main__":
    sys.exit(main())
