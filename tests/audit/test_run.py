"""End-to-end audits of planted real-prose training sets against real snapshot stores."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from audit.exceptions import RunExistsError
from audit.run import AuditResult, run_audit
from audit.schemas import MATCHES_SCHEMA
from audit.signing.reference import DatasketchSigner
from commons.api import catalog
from commons.exceptions import NoCompleteSnapshotError
from tests.audit.conftest import config_for
from tests.audit.fixtures import World, write_snapshot


def _row(result: AuditResult, source: str) -> dict:
    return next(r for r in result.summary if r["source"] == source)


@pytest.mark.parametrize("source", ["wiki", "forum"])
def test_estimates_match_truth_and_sit_in_their_intervals(world: World, audited: AuditResult,
                                                          source: str) -> None:
    truth = world.truth(source)
    row = _row(audited, source)
    assert row["train_docs"] == truth["train_docs"]
    assert row["train_docs_matched"] == truth["train_docs_overlapping"]
    assert row["source_docs"] == truth["source_docs"]
    assert row["source_docs_matched"] == truth["source_docs_in_training"]
    for key in ("train_doc_share", "train_word_share", "source_doc_share", "source_word_share"):
        assert row[f"{key}_low"] <= truth[key] <= row[f"{key}_high"], key
        assert row[key] == pytest.approx(truth[key], abs=0.02), key


def test_every_planted_kind_is_found_and_nothing_else(world: World, audited: AuditResult) -> None:
    matches = pq.read_table(audited.run_dir / "matches.parquet").to_pylist()
    labels = {lab["id"]: lab for lab in world.planted.labels}
    found: dict[str, set[str]] = {}
    for m in matches:
        found.setdefault(m["train_id"], set()).add(m["doc_id"])
    for tid, lab in labels.items():
        if lab["kind"] == "unrelated":
            assert tid not in found, f"unrelated {tid} matched {found.get(tid)}"
        else:
            assert set(lab["source_cover"]) & found.get(tid, set()), (lab["kind"], tid)
    by_kind = {labels[m["train_id"]]["kind"]: m for m in matches
               if m["doc_id"] in labels[m["train_id"]]["source_cover"]}
    assert by_kind["copy"]["match_kind"] == "near_duplicate"
    assert by_kind["truncation"]["match_kind"] == "containment"
    assert by_kind["truncation"]["containment_train_in_source"] == pytest.approx(1.0)
    assert by_kind["truncation"]["containment_source_in_train"] == pytest.approx(0.6, abs=0.05)
    emb = by_kind["embedded"]
    assert emb["match_kind"] == "containment" and emb["shared_shingles"] >= 100
    assert emb["train_words"] >= 1500 and emb["source_words"] >= 2000


def test_whole_threads_match_the_thread_document(world: World, audited: AuditResult) -> None:
    matches = pq.read_table(audited.run_dir / "matches.parquet").to_pylist()
    thread_hits = [m for m in matches if m["kind"] == "thread"]
    planted = [lab for lab in world.planted.labels if lab["kind"] == "thread"]
    assert {m["train_id"] for m in thread_hits} == {lab["id"] for lab in planted}
    assert all(m["match_kind"] == "near_duplicate" for m in thread_hits)


def test_outputs_run_json_and_views(world: World, audited: AuditResult) -> None:
    meta = json.loads((audited.run_dir / "run.json").read_text())
    assert meta["status"] == "complete" and meta["error"] is None
    assert meta["scheme"] == "affine32" and meta["versions"]["datasketch"]
    assert meta["config"]["doc_lsh"] == {"bands": 9, "rows": 13}
    assert meta["inputs"][0]["sha256"] and meta["inputs"][0]["format"] == "parquet"
    assert {s["source"] for s in meta["snapshots"]} == {"wiki", "forum"}
    assert meta["snapshots"][0]["counts"]["redirects"] == 1
    assert meta["snapshots"][0]["counts"]["deleted"] == 1
    assert meta["snapshots"][0]["counts"]["empty"] == 1
    assert {"read", "sign", "index:wiki", "match:wiki", "write"} <= set(meta["timings"])
    assert meta["calibration"]["wiki"]["sampled"] > 0
    assert pq.read_schema(audited.run_dir / "matches.parquet").names == MATCHES_SCHEMA.names
    con = catalog(world.data).connect()
    joined = con.execute(
        "SELECT count(*), count(d.doc_id) FROM audit_matches m LEFT JOIN documents d "
        "USING (source, snapshot_id, doc_id) WHERE m.run = 'base' AND m.kind <> 'thread'"
    ).fetchall()[0]
    assert joined[0] > 0 and joined[0] == joined[1]
    status = con.execute("SELECT status FROM audit_runs WHERE run = 'base'").fetchall()
    assert status == [("complete",)]
    summary = con.execute("SELECT source, train_doc_share FROM audit_summary "
                          "WHERE run = 'base' ORDER BY source").fetchall()
    assert [s for s, _ in summary] == ["forum", "wiki"]


def test_second_audit_reuses_source_signatures(world: World, audited: AuditResult,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    signed: list[int] = []
    original = DatasketchSigner.sign

    def counting(self: DatasketchSigner, texts: list) -> object:
        signed.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(DatasketchSigner, "sign", counting)
    result = run_audit(config_for(world, "again"), world.data)
    assert all(s["cache_hit"] for s in result.meta["snapshots"])
    docs = result.meta["sign"]["documents"] + result.meta["read"]["empty_texts"]
    assert sum(signed) == docs  # training side only: no source text re-hashed
    assert result.summary == [
        {**r, "candidates": r["candidates"]} for r in audited.summary
    ] or [r["train_docs_matched"] for r in result.summary] == [
        r["train_docs_matched"] for r in audited.summary]


def test_same_run_name_is_refused_then_replaced_with_force(fresh_world: World) -> None:
    cfg = config_for(fresh_world, "dup", sources=("wiki",))
    first = run_audit(cfg, fresh_world.data)
    with pytest.raises(RunExistsError, match="--force"):
        run_audit(cfg, fresh_world.data)
    again = run_audit(config_for(fresh_world, "dup", sources=("wiki",), threshold=0.9,
                                 force=True), fresh_world.data)
    assert again.run_dir == first.run_dir
    meta = json.loads((again.run_dir / "run.json").read_text())
    assert meta["status"] == "complete" and meta["threshold"] == 0.9
    assert not (fresh_world.data.audits / ".replaced").exists() or not any(
        (fresh_world.data.audits / ".replaced").iterdir())


def test_verify_exact_keeps_only_true_matches(world: World) -> None:
    result = run_audit(config_for(world, "exact", verify="exact", sources=("wiki",)), world.data)
    m = pq.read_table(result.run_dir / "matches.parquet").to_pylist()
    assert m and all(x["exact_jaccard"] is not None for x in m)
    for x in m:
        if x["match_kind"] == "near_duplicate":
            assert x["exact_jaccard"] >= 0.8
    truth = world.truth("wiki")
    assert _row(result, "wiki")["train_docs_matched"] == truth["train_docs_overlapping"]


def test_sampled_audit_interval_covers_truth(world: World) -> None:
    result = run_audit(config_for(world, "sampled", sample=90, sample_seed=11), world.data)
    row = _row(result, "wiki")
    assert row["sampled"] and row["sample_rows"] == 90
    assert row["population_rows"] == len(world.planted.rows)
    assert row["train_doc_share_ci_method"] in ("wilson-fpc", "clopper-pearson-fpc")
    truth = world.truth("wiki")
    assert row["train_doc_share_low"] <= truth["train_doc_share"] <= row["train_doc_share_high"]
    assert row["source_share_is_lower_bound"]


def test_source_without_complete_snapshot_fails_clearly(fresh_world: World) -> None:
    write_snapshot(fresh_world.data, "halfdone", fresh_world.wiki[:3], status="running")
    with pytest.raises(NoCompleteSnapshotError, match="halfdone"):
        run_audit(config_for(fresh_world, "nope", sources=("halfdone",)), fresh_world.data)
    meta = json.loads((fresh_world.data.audits / "nope" / "run.json").read_text())
    assert meta["status"] == "failed" and "halfdone" in meta["error"]
