"""Distributed crawls (crawler.frontier, switched on by its add-on): several crawler processes
share one frontier in a real Redis.

A real redis-server (Debian's, on a free loopback port, nothing persisted:
tests/harness/redis.py) and the real test wiki (tests/conftest.py) behind the recording
proxy (tests/harness/faultproxy.py), which here also notes when each answer left it, so
the spacing and the overlap of requests at the site are seen across all workers at once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import redis

from commons.api import catalog
from commons.store import DataDir, SnapshotManifest, SnapshotStore
from tests.conftest import CONTACT, ROOT, Wiki, crawl_args, run_cli
from tests.harness.faultproxy import FaultProxy, RecordedRequest
from tests.harness.redis import RedisServer

DELAY = 0.2
#: Request starts measured at the proxy may come out this much short of the delay (the
#: worker's and the proxy's threads are scheduled on a busy 2-core machine).
TOLERANCE = 0.025
ENV = {"MEDIAWIKI_BATCH": "10", "COMMONS_BATCH_ROWS": "20", "FRONTIER_HEARTBEAT_TTL": "3"}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


class TimedProxy(FaultProxy):
    """The recording proxy, also noting when each upstream answer was in (before it is sent
    on, so the next request of any worker can only start later).

    ``hold_pages`` makes page batches (``generator=allpages``) wait until it is set, so a
    test can let every worker join before the shared part of the crawl begins (on a loaded
    machine a worker may otherwise start after the others have finished).
    """

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.spans: list[tuple[float, float]] = []
        self.hold_pages = threading.Event()
        self.hold_pages.set()

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
                 ) -> tuple[int, list[tuple[str, str]], bytes]:
        if "generator=allpages" in path:
            self.hold_pages.wait(timeout=120)
        return super()._forward(method, path, headers, body)

    def _record(self, request: RecordedRequest) -> None:
        self.spans.append((request.time, time.monotonic()))
        super()._record(request)


def release_when_joined(proxy: TimedProxy, client: redis.Redis, source: str, workers: int,
                        timeout: float = 120.0) -> threading.Thread:
    """Hold the proxy's page batches until ``workers`` workers have joined the crawl."""
    proxy.hold_pages.clear()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            joined = max((client.scard(k) for k in client.scan_iter(
                f"commons:{source}:*:workers")), default=0)
            if joined >= workers:
                break
            time.sleep(0.1)
        proxy.hold_pages.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def start_worker(url: str, data: Path, source: str, frontier: str, log: Path,
                 via_scrapy: bool = False) -> subprocess.Popen[bytes]:
    """One crawler process: `commons crawl ... --frontier`, or `scrapy crawl -s ...`."""
    if via_scrapy:
        cmd = [sys.executable, "-m", "scrapy", "crawl", "mediawiki", "-a", f"url={url}",
               "-a", f"source={source}", "-a", f"contact={CONTACT}",
               "-s", f"COMMONS_DATA={data}", "-s", f"COMMONS_FRONTIER={frontier}",
               "-s", f"DOWNLOAD_DELAY={DELAY}", "-s", "LOG_LEVEL=INFO"]
    else:
        cmd = [sys.executable, "-m", "commons.cli", *crawl_args(url, data, source),
               "--delay", str(DELAY), "--frontier", frontier, "--verbose"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ENV}
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_all(procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> list[int]:
    codes = []
    for proc, log in zip(procs, logs, strict=True):
        try:
            codes.append(proc.wait(timeout=300))
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"worker did not end: {log.read_text()[-3000:]}")
    return codes


def check_snapshot(wiki: Wiki, data: Path, source: str) -> SnapshotManifest:
    """Complete, with every page of the wiki exactly once, in the workers' part files."""
    store = SnapshotStore(DataDir(data))
    (manifest,) = store.manifests(source)
    assert manifest.status == "complete", manifest.error
    rows = catalog(DataDir(data)).connect().execute(
        "SELECT doc_id, title, revision_id FROM documents WHERE source = ?", [source]).fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "a page was written twice"
    by_title = {title: (doc_id, revid) for doc_id, title, revid in rows}
    assert len(rows) == len(wiki.pages) + 1  # + MediaWiki's own Main Page
    for page in wiki.pages:
        assert by_title[page.title] == (str(page.page_id), page.latest_revid), page.title
    parts = store.part_files(source, manifest.snapshot_id)
    assert manifest.documents == len(rows) == sum(pq.read_metadata(p).num_rows for p in parts)
    assert manifest.parts == len(parts) and all(p.name.count("-") == 2 for p in parts)
    assert not list(parts[0].parent.glob(".*tmp*")), "temporary files left behind"
    return manifest


def check_politeness(proxy: TimedProxy) -> list[float]:
    """Starts at least the delay apart, and one request at a time, across all workers."""
    spans = sorted(proxy.spans)
    gaps = [b[0] - a[0] for a, b in zip(spans, spans[1:], strict=False)]
    assert len(gaps) >= 20 and min(gaps) >= DELAY - TOLERANCE, sorted(gaps)[:5]
    overlaps = [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    assert not overlaps, "a request started before the previous one was answered"
    return gaps


def test_three_workers_share_the_crawl(wiki: Wiki, redis_server: RedisServer,
                                       tmp_path: Path) -> None:
    """Two `commons crawl --frontier` and one `scrapy crawl -s COMMONS_FRONTIER=...`."""
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    with TimedProxy(wiki.url) as proxy:
        release_when_joined(proxy, redis.Redis.from_url(redis_server.url), "shared", 3)
        procs = [start_worker(proxy.url, tmp_path, "shared", redis_server.url, logs[i],
                              via_scrapy=i == 2) for i in range(3)]
        codes = wait_all(procs, logs)
        requests = proxy.requests
    assert codes == [0, 0, 0], [log.read_text()[-2000:] for log in logs]
    manifest = check_snapshot(wiki, tmp_path, "shared")
    for log in logs[:2]:  # every CLI worker reports the one shared outcome
        assert f"snapshot shared/{manifest.snapshot_id}: complete, {manifest.documents} " \
               "documents" in log.read_text()
    check_politeness(proxy)
    chain = [r.path for r in requests if "generator=allpages" in r.path]
    assert len(chain) == len(set(chain)) == 14, "each batch fetched once (133 pages / 10)"
    assert manifest.parameters["frontier"] == redis_server.url
    assert len(manifest.stats["workers"]) == 3
    assert manifest.robots["status"] == 200 and manifest.license["spdx"] == "CC-BY-SA-4.0"
    client = redis.Redis.from_url(redis_server.url)
    left = {k.decode() for k in client.scan_iter("commons:shared:*")}
    assert left == {f"commons:shared:{manifest.snapshot_id}:finished"}, left


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _victim(client: redis.Redis, source: str, data: Path) -> int | None:
    """The pid of a worker with a durable part file and two leased requests (one of them
    already parsed, its rows not yet durable: with batches of 10 pages and parts of 20
    rows, the second lease is leased while the first one's rows wait)."""
    for key in client.scan_iter(f"commons:{source}:*:inflight:*"):
        worker = key.decode().rsplit(":", 1)[1]
        if client.hlen(key) >= 2 and list(data.glob(f"snapshots/*/*/part-{worker}-*.parquet")):
            return int(worker.split(".")[1])
    return None


def test_a_worker_killed_mid_crawl_loses_nothing(wiki: Wiki, redis_server: RedisServer,
                                                 tmp_path: Path) -> None:
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    client = redis.Redis.from_url(redis_server.url)
    with TimedProxy(wiki.url) as proxy:
        procs = [start_worker(proxy.url, tmp_path, "killed", redis_server.url, log)
                 for log in logs]
        deadline = time.monotonic() + 240
        pid = None
        while pid is None and time.monotonic() < deadline and all(
                p.poll() is None for p in procs):
            pid = _victim(client, "killed", tmp_path)
            time.sleep(0.02)
        assert pid is not None, "no worker was caught holding work"
        os.kill(pid, signal.SIGKILL)
        codes = wait_all(procs, logs)
        requests = proxy.requests
    killed = [i for i, p in enumerate(procs) if p.pid == pid]
    assert [codes[i] for i in killed] == [-signal.SIGKILL]
    assert sorted(codes) == [-signal.SIGKILL, 0, 0], [log.read_text()[-2000:] for log in logs]
    manifest = check_snapshot(wiki, tmp_path, "killed")
    assert manifest.stats["frontier/reaped"] >= 2  # its leases went back to the queue
    victim_parts = [p for p in tmp_path.glob("snapshots/*/*/part-*.parquet")
                    if f".{pid}." in p.name]
    assert victim_parts, "the killed worker's durable parts are part of the snapshot"
    chain = [r.path for r in requests if "generator=allpages" in r.path]
    assert len(set(chain)) == 14 and len(chain) >= 14
    gaps = check_politeness(proxy)
    print(json.dumps({"reaped": manifest.stats["frontier/reaped"], "victim_parts":
                      len(victim_parts), "parts": manifest.parts, "batches_fetched": len(chain),
                      "min_gap_s": round(min(gaps), 4), "requests": len(requests)}))


def test_a_failure_is_recorded_once_and_stops_every_worker(
        wiki: Wiki, redis_server: RedisServer, tmp_path: Path) -> None:
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    with TimedProxy(wiki.url) as proxy:
        proxy.add_fault("generator=allpages", 500, {"Content-Type": "text/html"},
                        b"<h1>boom</h1>", times=-1)
        site = proxy.url
        procs = [start_worker(site, tmp_path, "broken", redis_server.url, log) for log in logs]
        codes = wait_all(procs, logs)
    assert codes == [1, 1]
    for log in logs:  # each worker ends with the same one-line error
        last = log.read_text().strip().splitlines()[-1]
        assert last.startswith("error: ") and "HTTP 500" in last and site in last, last
    (manifest,) = SnapshotStore(DataDir(tmp_path)).manifests("broken")
    assert manifest.status == "failed" and "HTTP 500" in (manifest.error or "")
    client = redis.Redis.from_url(redis_server.url)
    left = {k.decode() for k in client.scan_iter("commons:broken:*")}
    assert left == {f"commons:broken:{manifest.snapshot_id}:finished"}, left


def test_frontier_errors_are_one_line(wiki: Wiki, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    gone = run_cli(*crawl_args(wiki.url, tmp_path, "x"), "--frontier", url)
    assert gone.returncode == 2
    (line,) = gone.stderr.strip().splitlines()
    assert url in line and "unreachable" in line
    limited = run_cli(*crawl_args(wiki.url, tmp_path, "x"), "--limit", "5", "--frontier", url)
    assert limited.returncode == 2
    (line,) = limited.stderr.strip().splitlines()
    assert "--limit" in line
    blocked = ("import sys; sys.modules['scrapy_redis'] = None; from commons.cli import main; "
               "sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", blocked, *crawl_args(wiki.url, tmp_path, "x"),
                           "--frontier", url], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "commons-provenance[distributed]" in line
    assert not (tmp_path / "snapshots").exists()
    local = ("import sys, commons.cli, crawler.settings, crawler.frontier.addon, "
             "crawler.pipelines, crawler.middlewares, crawler.spiders.mediawiki; "
             "print('scrapy_redis' in sys.modules, 'redis' in sys.modules)")
    imported = subprocess.run([sys.executable, "-c", local], capture_output=True, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert imported.stdout.split() == ["False", "False"], "the local engine imports Redis"


def kill_trial(wiki: Wiki, frontier: str, data: Path, seed: int, mode: str) -> dict[str, Any]:
    """Three workers; at a random point SIGKILL the one holding the most leased requests
    (``holder``), or all of them and start two new ones (``all``); the snapshot must still
    hold every page exactly once."""
    rng = random.Random(seed)
    client = redis.Redis.from_url(frontier)
    source = f"trial{seed}"
    logs = [data / f"worker{i}.log" for i in range(5)]
    started = time.monotonic()
    with TimedProxy(wiki.url) as proxy:
        procs = [start_worker(proxy.url, data, source, frontier, logs[i]) for i in range(3)]
        after = rng.randint(3, 30)
        while len(proxy.requests) < after and all(p.poll() is None for p in procs):
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))
        held = {int(k.decode().rsplit(":", 1)[1].split(".")[1]): client.hlen(k)
                for k in client.scan_iter(f"commons:{source}:*:inflight:*")}
        top = max(held, key=lambda pid: held[pid], default=None)
        victims = procs if mode == "all" else [
            next((p for p in procs if p.pid == top), rng.choice(procs))]
        leases_held = sum(held.get(p.pid, 0) for p in victims)
        for proc in victims:
            proc.send_signal(signal.SIGKILL)
        if mode == "all":
            for proc in procs:
                proc.wait()
            procs += [start_worker(proxy.url, data, source, frontier, logs[i]) for i in (3, 4)]
        codes = wait_all(procs, logs[: len(procs)])
        requests = proxy.requests
    manifest = check_snapshot(wiki, data, source)
    gaps = check_politeness(proxy)
    return {"seed": seed, "mode": mode, "killed_after_requests": after, "codes": codes,
            "victims_leases": leases_held,
            "reaped": manifest.stats.get("frontier/reaped", 0),
            "batches_fetched": len([r for r in requests if "generator=allpages" in r.path]),
            "documents": manifest.documents, "parts": manifest.parts,
            "min_gap_s": round(min(gaps), 4), "elapsed_s": round(time.monotonic() - started, 1)}


def main() -> int:
    """Run kill trials against a fresh wiki and Redis; print one JSON line per trial:
    ``python -m tests.crawler.frontier.test_addon --trials 10``."""
    import argparse
    import shutil

    from tests.harness.mediawiki import MediaWikiServer

    parser = argparse.ArgumentParser(prog="python -m tests.crawler.frontier.test_addon")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/frontier-trials"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.environ.update(ENV)
    with MediaWikiServer(args.workdir / "wiki") as server, \
            RedisServer(args.workdir / "redis") as store:
        wiki = Wiki(server, server.seed_default(130, seed=11))
        for seed in range(args.trials):
            data = args.workdir / f"trial-{seed}"
            data.mkdir()
            mode = "all" if seed % 3 == 2 else "holder"
            print(json.dumps(kill_trial(wiki, store.url, data, seed, mode)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
