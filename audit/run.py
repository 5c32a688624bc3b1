"""Stage orchestration: read and sign, index (join), match, estimate, report.

Each stage hands off files in ``DATA/audits/<run>/work/``; the source side is signed once
per snapshot and signing configuration and cached under ``DATA/signatures/``. Reading and
signing the training set are one streaming pass (timing ``read``); ``sign`` in the timings
is the signer's share of it (summed over its threads).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.config import AuditConfig
from audit.engine import Engine, make_engine
from audit.estimate.summary import credit_threads, summary_row
from audit.index.join import JoinSettings, candidate_join
from audit.match.matcher import DocFiles, PairMatcher
from audit.outputs import MATCH_COLUMNS, RunFolder
from audit.read.inputs import resolve_inputs
from audit.sign.source import SourceSide, prepare_source
from audit.sign.training import sign_training
from audit.signing.factory import make_signer, signer_name
from audit.views import MATCH_TYPES, arrow_schema
from commons.provenance import file_fingerprint
from commons.store import DataDir


@dataclass
class AuditResult:
    """What an audit produced."""

    run_dir: Path
    status: str
    summary: list[dict[str, Any]] = field(default_factory=list)
    matches: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


def run_audit(config: AuditConfig, data: DataDir,
              fingerprint: Callable[[Path], dict[str, object]] = file_fingerprint) -> AuditResult:
    """Run every stage; the run folder ends ``complete`` or ``failed`` (with the error).

    Raises:
        CommonsError: any domain error (after the run was marked failed, if it began).
    """
    run = RunFolder(data, config)
    run.begin()
    engine: Engine | None = None
    try:
        engine = make_engine(config)
        run.meta["engine"] = engine.describe()
        result = _stages(config, data, run, fingerprint, engine)
    except BaseException as exc:
        msg = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyboardInterrupt) \
            else "interrupted"
        run.fail(msg)
        raise
    finally:
        if engine is not None:
            engine.close()
    return result


@contextmanager
def _timed(run: RunFolder, stage: str) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    run.meta["timings"][stage] = round(time.perf_counter() - t0, 3)
    run.save()


def _stages(config: AuditConfig, data: DataDir, run: RunFolder,
            fingerprint: Callable[[Path], dict[str, object]], engine: Engine) -> AuditResult:
    work = run.work
    signer = make_signer(config)
    run.meta["signer"] = signer_name(signer)
    with _timed(run, "resolve_inputs"):
        files = resolve_inputs(config.inputs)
        run.meta["inputs"] = [{"format": f.format, **fingerprint(f.path)} for f in files]
    sides: list[SourceSide] = []
    with _timed(run, "sources"):
        for s in config.sources:
            side = prepare_source(config, data, s, signer, engine)
            sides.append(side)
            run.meta["snapshots"].append({
                "source": s, "snapshot_id": side.snapshot_id, "license": side.license,
                "chain": side.chain, "signature_cache": str(side.cache_dir),
                "cache_hit": side.cache_hit,
                "counts": side.counts})
    with _timed(run, "read"):
        training = sign_training(config, files, work, signer, engine)
        run.meta["read"] = training.read.to_dict()
        run.meta["sign"] = training.sign.__dict__
    run.meta["timings"]["sign"] = training.sign.seconds
    train = DocFiles.open(training.files, config.num_perm)
    train_docs = train.docs
    join = JoinSettings(config.memory_limit, work / "duckdb_tmp", config.duckdb_threads)
    summaries: list[dict[str, Any]] = []
    match_tables: list[pa.Table] = []
    for side in sides:
        sdir = work / f"source={side.name}"
        sdir.mkdir()
        with _timed(run, f"index:{side.name}"):
            n_cand = candidate_join(
                join, (training.files.bands, side.band_table(config)),
                (training.files.anchors, side.files(config).anchors),
                sdir / "candidates.parquet", engine)
        source = DocFiles.open(side.files(config), config.num_perm)
        source_docs = source.docs
        with _timed(run, f"match:{side.name}"):
            matcher = PairMatcher(config, train, source, signer)
            tally = matcher.run(sdir / "candidates.parquet", n_cand, sdir / "matches.parquet")
        with _timed(run, f"estimate:{side.name}"):
            credited = credit_threads(source_docs, tally, config.containment_threshold)
            row = summary_row(config, side.name, side.snapshot_id, side.license, train_docs,
                              source_docs, tally, training.read)
            summaries.append(row)
            run.meta["calibration"][side.name] = {**tally.calibration.to_dict(),
                                                  "posts_credited_by_thread": credited}
            match_tables.append(_decorate(config, side, train_docs, source_docs,
                                          pq.read_table(sdir / "matches.parquet")))
    with _timed(run, "report"):
        schema = arrow_schema(MATCH_TYPES)
        matches = pa.concat_tables([m.cast(schema) for m in match_tables]) if match_tables \
            else schema.empty_table()
        run.meta["outputs"] = {
            "matches": str(run.write_matches(matches)), "matches_rows": matches.num_rows,
            "summary": str(run.write_summary(summaries)),
        }
        run.meta["summary"] = summaries
    run.complete()
    return AuditResult(run.dir, "complete", summaries, matches.num_rows, run.meta)


def _decorate(config: AuditConfig, side: SourceSide, train_docs: pa.Table,
              source_docs: pa.Table, m: pa.Table) -> pa.Table:
    """Add ids, provenance and sizes to a source's match table, in MATCH_COLUMNS order."""
    tr = m.column("train_row")
    sr = m.column("source_row")
    n = m.num_rows
    lic = source_docs.column("license").take(sr)
    if side.license is not None:
        lic = pc.fill_null(lic, side.license)
    cols: dict[str, Any] = {
        "run": pa.array([config.run_name] * n, pa.string()),
        "train_id": train_docs.column("id").take(tr),
        "source": pa.array([side.name] * n, pa.string()),
        "snapshot_id": side.doc_snapshot_ids(source_docs.column("doc_id").take(sr)),
        "doc_id": source_docs.column("doc_id").take(sr),
        "kind": source_docs.column("kind").take(sr),
        "url": source_docs.column("url").take(sr),
        "title": source_docs.column("title").take(sr),
        "license": lic,
        "train_words": train_docs.column("n_words").take(tr),
        "source_words": source_docs.column("n_words").take(sr),
    }
    for name in m.column_names:
        if name != "source_row":
            cols[name] = m.column(name)
    return pa.table({k: cols[k] for k in MATCH_COLUMNS})

