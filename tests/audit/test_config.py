"""The audit config: its parts round-trip through run.json's flat dict, and the signing hash
(the signature cache's key) is the one earlier runs used."""

from __future__ import annotations

import json

import pytest

from audit.config import AuditConfig, AuditParams, RunOptions
from commons.exceptions import ConfigError

#: run.json's ``config`` as written before the config was split into params and options.
RECORDED = json.loads(
    '{"run_name": "r", "inputs": ["a"], "sources": ["s"], "text_column": "text", '
    '"id_column": null, "threshold": 0.8, "num_perm": 128, "ngram": 5, "seed": 1, '
    '"sample": null, "sample_seed": 7, "verify": "none", "window_words": 50, '
    '"containment_threshold": 0.8, "min_shared_shingles": null, "calibration_pairs": 400, '
    '"calibration_seed": 0, "batch_size": 2000, "memory_limit": "256MB", '
    '"duckdb_threads": null, "signer": "auto", "engine": "local", "ray_address": null, '
    '"confidence": 0.95, "force": false, "keep_work": false, "progress": true, '
    '"scheme": "affine32", "hashfunc": "xxhash.xxh32_intdigest(seed=0)", '
    '"doc_lsh": {"bands": 9, "rows": 13}, "shared_shingles_min": 46, '
    '"signing_hash": "8c0bf04241871150"}')


def test_every_field_round_trips_through_to_dict_and_json() -> None:
    config = AuditConfig(
        "r", ("a.parquet", "b/*.jsonl"), ("wiki", "forum"), text_column="body",
        id_column="uuid",
        params=AuditParams(threshold=0.7, num_perm=64, ngram=4, seed=3, window_words=40,
                           containment_threshold=0.6, min_shared_shingles=20, verify="exact",
                           sample=10, sample_seed=2, calibration_pairs=5, calibration_seed=1,
                           confidence=0.9),
        options=RunOptions(engine="ray", ray_address="auto", signer="reference",
                           batch_size=10, memory_limit="1GB", duckdb_threads=2, force=True,
                           keep_work=True, progress=False))
    assert AuditConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_recorded_config_reads_back_and_keeps_its_signing_hash() -> None:
    config = AuditConfig.from_dict(RECORDED)
    assert config == AuditConfig("r", ("a",), ("s",))
    assert config.to_dict() == RECORDED
    assert config.params.signing_hash() == "8c0bf04241871150"
    assert AuditParams(seed=2, ngram=4, window_words=40).signing_hash() == "9a00da68b5e4ace1"
    assert AuditParams(threshold=0.5, sample=3, verify="exact").signing_hash() \
        == config.params.signing_hash()


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown audit settings: tresh"):
        AuditConfig.from_dict({"run_name": "r", "inputs": ["a"], "sources": ["s"], "tresh": 1})
