"""`commons audit --engine ray` on a real Ray cluster (`ray start --head` on loopback) gives
exactly the local engine's results: the same source signatures, matches and estimates."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from audit.run import run_audit
from audit.sign.source import DOC_SIGS_RAW
from tests.audit.conftest import config_for
from tests.audit.fixtures import build_world
from tests.conftest import run_cli
from tests.harness.ray import RayHead


@pytest.fixture(scope="module")
def ray_head() -> Iterator[RayHead]:
    with RayHead(num_cpus=2) as head:
        yield head


def _signatures(data_root: Path, source: str) -> bytes:
    path = next((data_root / "signatures" / f"source={source}").rglob(DOC_SIGS_RAW))
    return path.read_bytes()


def test_ray_engine_equals_local_engine(ray_head: RayHead, tmp_path: Path) -> None:
    local_world = build_world(tmp_path / "local")
    ray_world = build_world(tmp_path / "ray")  # same seed: same snapshots, same training set
    local = run_audit(config_for(local_world, "same", signer="fast"), local_world.data)
    res = run_cli("audit", str(ray_world.training), "--sources", "wiki,forum", "--run-name",
                  "same", "--signer", "fast", "--memory-limit", "256MB", "--engine", "ray",
                  "--ray-address", ray_head.address, "--data", str(ray_world.data.root),
                  "--quiet", env=ray_head.env, timeout=600)
    assert res.returncode == 0, res.stderr
    meta = json.loads((ray_world.data.audits / "same" / "run.json").read_text())
    assert meta["engine"]["engine"] == "ray" and meta["engine"]["partitions"] > 1
    assert meta["engine"]["address"] == ray_head.address
    for source in ("wiki", "forum"):
        assert _signatures(local_world.data.root, source) == \
            _signatures(ray_world.data.root, source)
    ours = pq.read_table(ray_world.data.audits / "same" / "matches.parquet")
    theirs = pq.read_table(local.run_dir / "matches.parquet")
    assert ours.num_rows > 30 and ours.equals(theirs)
    summary_ray = pq.read_table(ray_world.data.audits / "same" / "summary.parquet")
    summary_local = pq.read_table(local.run_dir / "summary.parquet")
    assert summary_ray.equals(summary_local)
    assert meta["calibration"] == json.loads((local.run_dir / "run.json").read_text()
                                             )["calibration"]


def test_unreachable_cluster_is_one_line(tmp_path: Path) -> None:
    world = build_world(tmp_path, n_unrelated=10)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    res = run_cli("audit", str(world.training), "--sources", "wiki", "--run-name", "nope",
                  "--engine", "ray", "--ray-address", "127.0.0.1:9", "--data",
                  str(world.data.root), "--quiet", env=env, timeout=300)
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "127.0.0.1:9" in lines[0] and "ray start --head" in lines[0]
