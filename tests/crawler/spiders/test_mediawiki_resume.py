"""--resume after SIGKILL at random points, against the real MediaWiki (read-only here).

Each trial starts a crawl through the recording proxy, kills it with SIGKILL after a random
number of requests plus a random delay, then runs ``--resume`` (itself killed at random,
up to three kills per trial) until the snapshot completes. The finished snapshot must hold
every document exactly once, identical to an uninterrupted crawl. Small batches
(``MEDIAWIKI_BATCH=10``, ``COMMONS_BATCH_ROWS=7``) put many durable parts and API requests
in a crawl of the 133-page test wiki, so kills land at many different points.

Run more trials by hand: ``python -m tests.crawler.spiders.test_mediawiki_resume --trials 20``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from commons.api import catalog
from commons.store import DataDir, SnapshotStore
from tests.conftest import ROOT, Wiki, crawl_args, run_cli
from tests.harness.faultproxy import FaultProxy

ENV = {"COMMONS_BATCH_ROWS": "7", "MEDIAWIKI_BATCH": "10"}
CONTENT = ("doc_id, kind, url, title, text, n_words, license, authors, anon_authors, "
           "last_editor, revision_id, modified_at, content_sha1, namespace, is_redirect, "
           "redirect_to, is_deleted")


@dataclass
class Trial:
    """What happened in one kill/resume trial."""

    seed: int
    mode: str
    kills: list[dict[str, int]] = field(default_factory=list)
    runs: int = 0
    resumes: int = 0
    status: str | None = None
    rows: int = 0
    distinct: int = 0
    expected: int = 0
    identical: bool = False


def _launch(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ENV}
    return subprocess.Popen([sys.executable, "-m", "commons.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _parts(data: Path, source: str) -> int:
    return len(list((data / "snapshots" / f"source={source}").glob("snapshot=*/part-*")))


def kill_resume_trial(proxy: FaultProxy, data: Path, source: str, seed: int,
                      extra: tuple[str, ...] = (), max_kills: int = 3) -> Trial:
    """Crawl ``source`` into ``data``, killing it at random points, until it completes."""
    rng = random.Random(seed)
    trial = Trial(seed, "incremental" if "--incremental" in extra else "full")
    store = SnapshotStore(DataDir(data))
    for _ in range(max_kills + 5):
        unfinished = [m for m in store.manifests(source) if m.status != "complete"]
        resume = ["--resume"] if unfinished else list(extra)
        proc = _launch([*crawl_args(proxy.url, data, source), *resume])
        trial.runs += 1
        trial.resumes += bool(unfinished)
        seen = len(proxy.requests)
        if len(trial.kills) < max_kills and (not trial.kills or rng.random() < 0.6):
            after, pause = rng.randint(1, 20), rng.uniform(0.0, 0.15)
            while proc.poll() is None and len(proxy.requests) - seen < after:
                time.sleep(0.005)
            time.sleep(pause)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                trial.kills.append({"after_requests": len(proxy.requests) - seen,
                                    "parts_durable": _parts(data, source)})
                continue
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr.decode()
        break
    (manifest,) = [m for m in store.manifests(source) if m.status == "complete"
                   and (m.base_snapshot is not None) == (trial.mode == "incremental")]
    trial.status = manifest.status
    con = catalog(DataDir(data)).connect()
    trial.rows, trial.distinct = con.execute(
        "SELECT count(*), count(DISTINCT doc_id) FROM documents WHERE snapshot_id = ?",
        [manifest.snapshot_id]).fetchone() or (0, 0)
    return trial


def rows_of(data: Path, where: str = "true") -> list[tuple]:
    return catalog(DataDir(data)).connect().execute(
        f"SELECT {CONTENT} FROM latest_documents WHERE {where} ORDER BY doc_id").fetchall()


@pytest.fixture(scope="module")
def reference(wiki: Wiki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted crawl with the same small batches."""
    data = tmp_path_factory.mktemp("reference")
    result = run_cli(*crawl_args(wiki.url, data, "resumewiki"), env=ENV)
    assert result.returncode == 0, result.stderr
    return data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_then_resume_gives_every_document_once(
        wiki: Wiki, reference: Path, tmp_path: Path, seed: int) -> None:
    expected = rows_of(reference)
    with FaultProxy(wiki.url) as proxy:
        trial = kill_resume_trial(proxy, tmp_path, "resumewiki", seed)
    print(json.dumps(asdict(trial)))
    assert trial.kills, "the crawl was never killed"
    (manifest,) = SnapshotStore(DataDir(tmp_path)).manifests("resumewiki")
    assert manifest.status == "complete"
    # A resume killed before it opened the snapshot leaves no count behind.
    assert (trial.resumes == 0) == ("resumes" not in manifest.stats)
    assert manifest.stats.get("resumes", 0) <= trial.resumes
    assert trial.rows == trial.distinct == len(expected) == manifest.documents
    assert rows_of(tmp_path) == expected


def test_resume_of_a_killed_incremental_crawl(wiki: Wiki, reference: Path,
                                              tmp_path: Path) -> None:
    """An increment whose base predates every seeded edit refetches all pages; killed and
    resumed, it still holds each once, and base + increment equals the reference."""
    (base,) = SnapshotStore(DataDir(reference)).manifests("resumewiki")
    target = DataDir(tmp_path).snapshot_dir("resumewiki", base.snapshot_id)
    shutil.copytree(DataDir(reference).snapshot_dir("resumewiki", base.snapshot_id), target)
    manifest = json.loads((target / "_manifest.json").read_text())
    manifest["site"]["server_time"] = "2023-12-31T00:05:00Z"  # rcstart: the seed's first edit
    (target / "_manifest.json").write_text(json.dumps(manifest))
    with FaultProxy(wiki.url) as proxy:
        trial = kill_resume_trial(proxy, tmp_path, "resumewiki", seed=4,
                                  extra=("--incremental",), max_kills=2)
    print(json.dumps(asdict(trial)))
    assert trial.kills
    chain = SnapshotStore(DataDir(tmp_path)).latest_chain("resumewiki")
    assert [m.snapshot_id for m in chain][0] == base.snapshot_id and len(chain) == 2
    assert chain[1].parameters["mode"] == "incremental"
    assert trial.rows == trial.distinct == len(rows_of(reference))
    assert rows_of(tmp_path, f"snapshot_id = '{chain[1].snapshot_id}'") == rows_of(reference)


def main() -> int:
    """Run many trials against a fresh wiki and print one JSON line per trial."""
    from tests.harness.mediawiki import MediaWikiServer

    parser = argparse.ArgumentParser(prog="python -m tests.crawler.spiders.test_mediawiki_resume")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/resume-trials"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    with MediaWikiServer(args.workdir / "wiki") as server:
        server.seed_default(130, seed=11)
        ref = args.workdir / "reference"
        assert run_cli(*crawl_args(server.url, ref, "resumewiki"), env=ENV).returncode == 0
        expected = rows_of(ref)
        for seed in range(args.trials):
            data = args.workdir / f"trial-{seed}"
            with FaultProxy(server.url) as proxy:
                trial = kill_resume_trial(proxy, data, "resumewiki", 100 + seed)
            trial.expected = len(expected)
            trial.identical = rows_of(data) == expected
            print(json.dumps(asdict(trial)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
