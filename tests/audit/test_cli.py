"""`commons audit`, `commons audits` and the audit views, through the real CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli import SEED_DEPRECATED
from commons.api import catalog
from tests.audit.fixtures import World
from tests.conftest import ROOT, run_cli


def _audit(world: World, run: str, *extra: str, training: Path | None = None) -> list[str]:
    return ["audit", str(training or world.training), "--sources", "wiki,forum",
            "--run-name", run, "--data", str(world.data.root), "--signer", "reference",
            "--quiet", *extra]


def _one_line_error(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_audit_prints_the_summary_and_the_views_hold_it(world: World) -> None:
    res = run_cli(*_audit(world, "cli-run", "--text-column", "text", "--id-column", "id"))
    assert res.returncode == 0, res.stderr
    con = catalog(world.data).connect()
    rows = con.execute("SELECT source, train_docs, train_docs_matched, train_doc_share "
                       "FROM audit_summary WHERE run = 'cli-run' ORDER BY source").fetchall()
    assert [r[0] for r in rows] == ["forum", "wiki"]
    for source, docs, matched, share in rows:
        truth = world.truth(source)
        assert (docs, matched) == (truth["train_docs"], truth["train_docs_overlapping"])
        line = next(ln for ln in res.stdout.splitlines()
                    if ln.startswith(source) and "training in source" in ln)
        assert f"{round(share, 4)}" in line and str(matched) in line
    assert "audit cli-run: complete" in res.stdout
    listed = run_cli("audits", "--data", str(world.data.root))
    assert listed.returncode == 0
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith("cli-run"))
    assert "complete" in line and "wiki,forum" in line and "0.8" in line
    sql = run_cli("sql", "--data", str(world.data.root), "--format", "json",
                  "SELECT count(*) AS n FROM audit_matches WHERE run = 'cli-run'")
    assert json.loads(sql.stdout)["n"] > 0


def test_missing_text_column_is_one_line_listing_columns(world: World) -> None:
    res = run_cli(*_audit(world, "nocol", "--text-column", "body"))
    line = _one_line_error(res.stderr)
    assert res.returncode == 2
    assert "train.parquet" in line and "'body'" in line and "id, text" in line


def test_null_empty_and_non_string_texts_are_counted_not_fatal(world: World,
                                                               tmp_path: Path) -> None:
    rows = [*world.planted.rows[:20], {"id": "null", "text": None}, {"id": "empty", "text": ""},
            {"id": "punct", "text": "!!! ... ???"}]
    path = tmp_path / "mixed.jsonl"
    with open(path, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
        fh.write(json.dumps({"id": "number", "text": 42}) + "\n")
    res = run_cli(*_audit(world, "mixed", training=path))
    assert res.returncode == 0, res.stderr
    assert "24 training rows (4 without text: 1 null, 1 non-string, 2 empty)" in res.stdout
    meta = json.loads((world.data.audits / "mixed" / "run.json").read_text())
    assert meta["read"]["null_texts"] == 1 and meta["read"]["non_string_texts"] == 1
    assert meta["read"]["sampled_rows"] == 24 and meta["read"]["documents"] == 20


def test_seed_is_a_deprecated_name_of_sample_seed(world: World) -> None:
    """For one release `--seed` still sets the sample seed, with a one-line warning."""
    new = run_cli(*_audit(world, "sample-seed", "--sample", "40", "--sample-seed", "11"))
    assert new.returncode == 0, new.stderr
    assert new.stderr.strip() == ""
    old = run_cli(*_audit(world, "old-seed", "--sample", "40", "--seed", "11"))
    assert old.returncode == 0, old.stderr
    assert [ln for ln in old.stderr.splitlines() if ln.strip()] == [SEED_DEPRECATED]
    assert "--sample-seed" in SEED_DEPRECATED and "next release" in SEED_DEPRECATED
    metas = [json.loads((world.data.audits / run / "run.json").read_text())
             for run in ("sample-seed", "old-seed")]
    assert [m["sample_seed"] for m in metas] == [11, 11]
    assert [m["config"]["sample_seed"] for m in metas] == [11, 11]
    assert metas[0]["summary"] == metas[1]["summary"]
    both = run_cli(*_audit(world, "both-seeds", "--seed", "11", "--sample-seed", "12"))
    assert both.returncode != 0
    assert "--sample-seed" in _one_line_error(both.stderr)


@pytest.mark.parametrize("case", ["empty", "corrupt", "no-source", "missing-path"])
def test_bad_input_is_one_clear_line(world: World, tmp_path: Path, case: str) -> None:
    training = world.training
    extra: list[str] = []
    if case == "empty":
        training = tmp_path / "empty.parquet"
        pq.write_table(pa.table({"id": pa.array([], pa.string()),
                                 "text": pa.array([], pa.string())}), training)
        expect = "no document with text"
    elif case == "corrupt":
        training = tmp_path / "broken.parquet"
        training.write_bytes(b"not parquet at all")
        expect = "broken.parquet"
    elif case == "missing-path":
        training = tmp_path / "nowhere" / "*.parquet"
        expect = "nowhere"
    else:
        expect = "nosuchsource"
    args = _audit(world, f"bad-{case}", training=training)
    if case == "no-source":
        args[args.index("wiki,forum")] = "wiki,nosuchsource"
    res = run_cli(*args, *extra)
    assert res.returncode != 0
    assert expect in _one_line_error(res.stderr)
    con = catalog(world.data).connect()
    statuses = con.execute(f"SELECT status FROM audit_runs WHERE run = 'bad-{case}'").fetchall()
    assert statuses in ([], [("failed",)])
    assert con.execute(f"SELECT count(*) FROM audit_summary WHERE run = 'bad-{case}'"
                       ).fetchall() == [(0,)]


def test_a_killed_audit_never_shows_complete(world: World, tmp_path: Path) -> None:
    """SIGKILL at random points: the run stays `running`, `commons audits` says interrupted,
    and the summary and match views show nothing of it."""
    big = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pylist(
        [{"id": f"{k}-{r['id']}", "text": r["text"]} for k in range(4)
         for r in world.planted.rows]), big)
    rng = random.Random(5)
    killed = 0
    for attempt in range(4):
        run = f"killed-{attempt}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "commons.cli",
                                 *_audit(world, run, training=big)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        run_json = world.data.audits / run / "run.json"
        while not run_json.exists() and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is not None:
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed += 1
        meta = json.loads(run_json.read_text())
        assert meta["status"] == "running"
        listed = run_cli("audits", "--data", str(world.data.root)).stdout
        assert any(ln.startswith(run) and "interrupted" in ln for ln in listed.splitlines())
        con = catalog(world.data).connect()
        assert con.execute("SELECT status FROM audit_runs WHERE run = ?", [run]).fetchall() \
            == [("running",)]
        for view in ("audit_summary", "audit_matches"):
            assert con.execute(f"SELECT count(*) FROM {view} WHERE run = ?", [run]
                               ).fetchall() == [(0,)]
    assert killed >= 2
