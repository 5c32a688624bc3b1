"""disclosure.json is a valid Croissant 1.1 record with PROV-O provenance.

Validated two ways, both offline: against the vendored JSON Schema the report writer ships
(Croissant's required properties plus this profile's), and with ``mlcroissant``, the
Croissant project's own reference implementation, which also reads its record sets back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import duckdb
import mlcroissant as mlc
import pytest

from audit.report.disclosure import validate
from audit.report.exceptions import DisclosureInvalidError
from tests.audit.report.conftest import RUN, query
from tests.audit.report.world import WIKI_SNAPSHOTS, ReportWorld


@pytest.fixture(scope="module")
def record(report_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((report_dir / "disclosure.json").read_text())
    return loaded


def _croissant(record: dict[str, Any], folder: Path) -> mlc.Dataset:
    return mlc.Dataset(jsonld=record, mapping={"attribution.parquet":
                                                str(folder / "attribution.parquet")})


def test_validates_against_the_vendored_schema(record: dict[str, Any]) -> None:
    validate(record)
    assert record["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert record["@type"] == "sc:Dataset"


@pytest.mark.parametrize("drop", ["license", "conformsTo", "creator", "prov:wasGeneratedBy"])
def test_a_record_missing_a_required_field_is_refused(record: dict[str, Any], drop: str) -> None:
    broken = copy.deepcopy(record)
    del broken[drop]
    with pytest.raises(DisclosureInvalidError, match=drop.split(":")[-1]):
        validate(broken)


def test_croissant_reference_implementation_accepts_it_and_reads_it_back(
        record: dict[str, Any], report_dir: Path, catalog: duckdb.DuckDBPyConnection,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ds = _croissant(record, report_dir)
    issues = ds.metadata.ctx.issues
    assert not issues.errors, issues.report()
    assert not issues.warnings, issues.report()
    overlap = list(ds.records("overlap"))
    summary = query(catalog, "SELECT * FROM audit_summary WHERE run = ? ORDER BY source", [RUN])
    assert len(overlap) == len(summary) == 2
    for got, want in zip(sorted(overlap, key=lambda r: r["overlap/source"]), summary,
                         strict=True):
        for key in ("source", "train_docs_matched", "source_docs_matched"):
            value = got[f"overlap/{key}"]
            value = value.decode() if isinstance(value, bytes) else value
            assert value == want[key]
        assert got["overlap/train_doc_share"] == pytest.approx(want["train_doc_share"], abs=0)
    attributed = {(r["attribution/source"].decode(), r["attribution/doc_id"].decode())
                  for r in ds.records("attribution")}
    matched = {(r["source"], r["doc_id"]) for r in query(
        catalog, "SELECT DISTINCT source, doc_id FROM audit_matches WHERE run = ?", [RUN])}
    assert attributed == matched


@pytest.mark.parametrize("breakage", ["no type", "no contentUrl", "no conformsTo"])
def test_the_standard_validator_also_refuses_a_broken_record(record: dict[str, Any],
                                                             report_dir: Path,
                                                             breakage: str) -> None:
    broken = copy.deepcopy(record)
    if breakage == "no type":
        del broken["@type"]
    elif breakage == "no contentUrl":
        del broken["distribution"][0]["contentUrl"]
    else:
        del broken["conformsTo"]
    with pytest.raises(mlc.ValidationError):
        _croissant(broken, report_dir)
    with pytest.raises(DisclosureInvalidError):
        validate(broken)


def test_records_fingerprints_sources_consent_and_intervals(
        record: dict[str, Any], report_dir: Path, report_world: ReportWorld,
        catalog: duckdb.DuckDBPyConnection) -> None:
    for f in record["distribution"]:
        path = report_dir / f["contentUrl"] if "://" not in f["contentUrl"] else \
            Path(f["contentUrl"].removeprefix("file://"))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == f["sha256"], f["name"]
    names = {f["name"] for f in record["distribution"]}
    assert {"index.html", "summary.md", "ATTRIBUTION.md", "attribution.parquet"} <= names
    training = hashlib.sha256(report_world.training.read_bytes()).hexdigest()
    derived = {e["@id"]: e for e in record["prov:wasDerivedFrom"]}
    assert derived[f"urn:sha256:{training}"]["sha256"] == training
    wiki = derived[f"urn:commons-provenance:snapshot:wiki:{WIKI_SNAPSHOTS[1]}"]
    props = {p["name"]: p["value"] for p in wiki["additionalProperty"]}
    assert props["robots.txt allows GPTBot"] is False
    assert props["robots.txt disallowed AI crawlers"] == "GPTBot, CCBot"
    assert wiki["license"] == "https://creativecommons.org/licenses/by-sa/4.0/"
    forum = derived["urn:commons-provenance:snapshot:forum:20240301T000000Z"]
    fprops = {p["name"]: p["value"] for p in forum["additionalProperty"]}
    assert fprops["noai (X-Robots-Tag or meta robots)"] is True
    assert fprops["TDM rights reserved (TDMRep)"] is True
    activity = record["prov:wasGeneratedBy"]
    params = {p["name"]: p["value"] for p in activity["additionalProperty"]}
    assert params["threshold"] == 0.8 and params["num_perm"] == 128
    assert {u["@id"] for u in activity["prov:used"]} == set(derived)
    summary = {r["source"]: r for r in query(
        catalog, "SELECT * FROM audit_summary WHERE run = ?", [RUN])}
    measured = [m for m in record["variableMeasured"] if m["propertyID"] == "source_doc_share"]
    assert len(measured) == 2
    for m in measured:
        row = summary[m["name"].split(":")[0]]
        assert (m["value"], m["minValue"], m["maxValue"]) == (
            row["source_doc_share"], row["source_doc_share_low"], row["source_doc_share_high"])
