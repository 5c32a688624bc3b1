"""The audit's stages in order: read and sign, index, match, estimate, write.

Each stage hands off files in ``DATA/audits/<run>/work/``; the source side is signed once
per snapshot and signing configuration and cached under ``DATA/signatures/``. Reading and
signing the training set are one streaming pass (timing ``read``); ``sign`` in the timings
is the signer's share of it (summed over its threads). This module only orders the stages
and records them in run.json (:mod:`audit.runs`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.config import AuditConfig
from audit.engine import Engine, make_engine
from audit.estimate.summary import credit_threads, summary_row
from audit.index.join import JoinSettings, candidate_join
from audit.match.matcher import DocFiles, PairMatcher
from audit.read.inputs import resolve_inputs
from audit.runs import RunFolder
from audit.sign.source import SourceSide, prepare_source
from audit.sign.training import sign_training
from audit.signing.factory import make_signer, signer_name
from audit.write import SourceMatches, write_outputs
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
        engine = make_engine(config.options)
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


def _snapshot_meta(side: SourceSide) -> dict[str, Any]:
    return {"source": side.name, "snapshot_id": side.snapshot_id, "license": side.license,
            "chain": side.chain, "signature_cache": str(side.cache_dir),
            "cache_hit": side.cache_hit, "counts": side.counts}


def _stages(config: AuditConfig, data: DataDir, run: RunFolder,
            fingerprint: Callable[[Path], dict[str, object]], engine: Engine) -> AuditResult:
    work, params, options = run.work, config.params, config.options
    signer = make_signer(params, options.signer)
    run.meta["signer"] = signer_name(signer)
    with _timed(run, "resolve_inputs"):
        files = resolve_inputs(config.inputs)
        run.meta["inputs"] = [{"format": f.format, **fingerprint(f.path)} for f in files]
    sides: list[SourceSide] = []
    with _timed(run, "sources"):
        for s in config.sources:
            side = prepare_source(params, options, data, s, signer, engine)
            sides.append(side)
            run.meta["snapshots"].append(_snapshot_meta(side))
    with _timed(run, "read"):
        training = sign_training(config, files, work, signer, engine)
        run.meta["read"] = training.read.to_dict()
        run.meta["sign"] = training.sign.__dict__
    run.meta["timings"]["sign"] = training.sign.seconds
    train = DocFiles.open(training.files, params.num_perm)
    join = JoinSettings(options.memory_limit, work / "duckdb_tmp", options.duckdb_threads)
    summaries: list[dict[str, Any]] = []
    matched: list[SourceMatches] = []
    for side in sides:
        sdir = work / f"source={side.name}"
        sdir.mkdir()
        source_files = side.files(params)
        with _timed(run, f"index:{side.name}"):
            candidates = candidate_join(
                join, (training.files.bands, side.band_table(params)),
                (training.files.anchors, source_files.anchors), sdir / "candidates.parquet",
                engine)
        source = DocFiles.open(source_files, params.num_perm)
        with _timed(run, f"match:{side.name}"):
            tally = PairMatcher(params, train, source, signer, options.progress).run(
                sdir / "candidates.parquet", candidates, sdir / "matches.parquet")
        with _timed(run, f"estimate:{side.name}"):
            credited = credit_threads(source.docs, tally, params.containment_threshold)
            summaries.append(summary_row(params, side.name, side.snapshot_id, side.license,
                                         train.docs, source.docs, tally, training.read))
            run.meta["calibration"][side.name] = {**tally.calibration.to_dict(),
                                                  "posts_credited_by_thread": credited}
        matched.append(SourceMatches(side, source.docs, sdir / "matches.parquet"))
    with _timed(run, "write"):
        run.meta["outputs"] = write_outputs(run, train.docs, matched, summaries)
        run.meta["summary"] = summaries
    run.complete()
    return AuditResult(run.dir, "complete", summaries, run.meta["outputs"]["matches_rows"],
                       run.meta)
