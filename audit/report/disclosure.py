"""disclosure.json: the audit as a Croissant 1.1 (schema.org Dataset) record with PROV-O.

Vocabulary (MLCommons Croissant 1.1, which builds on schema.org and recommends W3C PROV-O
for provenance):

* the described ``sc:Dataset`` is the audit record itself; its ``distribution`` lists the
  report's files and the run's Parquet outputs (``cr:FileObject`` with ``sha256``);
* ``prov:wasDerivedFrom``: the training files (with their fingerprints) and each audited
  source snapshot (``prov:Entity`` with licence, crawl activity and the consent signals
  recorded at crawl time as ``additionalProperty``);
* ``prov:wasGeneratedBy``: the audit (``prov:Activity``: times, software, every parameter);
* ``variableMeasured``: per source and direction, the share with its interval
  (``value``, ``minValue``, ``maxValue``);
* ``recordSet``: ``overlap`` (the ``audit_summary`` rows, inline), ``sources`` (licence and
  consent per snapshot, inline) and ``attribution`` (columns of attribution.parquet).

Before anything is written the record is checked against the vendored JSON Schema
``schemas/disclosure.schema.json`` (Croissant 1.1's required dataset properties plus this
profile's provenance fields).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from audit.report.exceptions import DisclosureInvalidError
from audit.report.load import RunData, SnapshotFacts
from audit.views import SUMMARY_TYPES
from commons.provenance import iso

CROISSANT = "http://mlcommons.org/croissant/1.1"
#: JSON-LD context: Croissant 1.1's recommended context (its Appendix 1) plus PROV-O.
CONTEXT: dict[str, Any] = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "prov": "http://www.w3.org/ns/prov#",
    "annotation": "cr:annotation", "arrayShape": "cr:arrayShape", "citeAs": "cr:citeAs",
    "column": "cr:column", "conformsTo": "dct:conformsTo", "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"}, "excludes": "cr:excludes",
    "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format",
    "includes": "cr:includes", "isArray": "cr:isArray", "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5",
    "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet",
    "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "readLines": "cr:readLines",
    "sdVersion": "cr:sdVersion", "separator": "cr:separator", "source": "cr:source",
    "subField": "cr:subField", "transform": "cr:transform", "unArchive": "cr:unArchive",
    "value": "cr:value",
}
_DATATYPES = {"VARCHAR": "sc:Text", "BIGINT": "sc:Integer", "INTEGER": "sc:Integer",
              "DOUBLE": "sc:Float", "BOOLEAN": "sc:Boolean"}
_SPDX_ID = re.compile(r"^[A-Za-z0-9.+-]+$")
MEASURES = (
    ("train_doc_share", "share of the training documents found in the source"),
    ("train_word_share", "share of the training words found in the source"),
    ("source_doc_share", "share of the source's documents found in the training set"),
    ("source_word_share", "share of the source's words found in the training set"),
)


def schema() -> dict[str, Any]:
    """The vendored JSON Schema of a disclosure record."""
    text = resources.files("audit.report").joinpath("schemas/disclosure.schema.json")
    loaded: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return loaded


def validate(record: dict[str, Any]) -> None:
    """Check ``record`` against the vendored schema.

    Raises:
        DisclosureInvalidError: with the first violation's path and message.
    """
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        raise DisclosureInvalidError(
            f"disclosure.json is not a valid record at {where}: {e.message}; this is a bug "
            "in the report writer, please report it (nothing was written)")


def license_url(value: str | None) -> str | None:
    """A licence as a URL: SPDX ids become their spdx.org page."""
    if not value:
        return None
    if value.startswith(("http://", "https://")):
        return value
    if _SPDX_ID.match(value):
        return f"https://spdx.org/licenses/{value}.html"
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clean(value: Any) -> Any:
    """JSON-ready: NaN becomes null, datetimes ISO strings, containers recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def _prop(name: str, value: Any, description: str | None = None) -> dict[str, Any]:
    out = {"@type": "PropertyValue", "name": name, "value": clean(value)}
    if description:
        out["description"] = description
    return out


def _snapshot_entity(facts: SnapshotFacts, matched: int) -> dict[str, Any]:
    c = facts.consent
    consent = [
        _prop("robots.txt recorded", c.recorded),
        _prop("robots.txt HTTP status", c.robots_status),
        _prop("robots.txt disallowed AI crawlers", ", ".join(c.disallowed_agents)),
        *(_prop(f"robots.txt allows {agent}", allowed) for agent, allowed in c.allowed.items()),
        _prop("noai (X-Robots-Tag or meta robots)", c.noai),
        _prop("TDM rights reserved (TDMRep)", c.tdm_reserved),
        _prop("TDM policy", c.tdm_policy),
        _prop("Content-Usage (aipref)", "; ".join(c.content_usage)),
        _prop("matched documents in this audit", matched),
    ]
    entity: dict[str, Any] = {
        "@id": f"urn:commons-provenance:snapshot:{facts.source}:{facts.snapshot_id}",
        "@type": "prov:Entity", "name": f"{facts.source} snapshot {facts.snapshot_id}",
        "identifier": facts.snapshot_id, "url": facts.base_url,
        "license": license_url(facts.license_url) or license_url(facts.license)
        or facts.license,
        "prov:generatedAtTime": iso(facts.finished_at),
        "prov:wasGeneratedBy": {
            "@type": "prov:Activity", "prov:label": f"crawl of {facts.source}",
            "prov:startedAtTime": iso(facts.started_at),
            "prov:endedAtTime": iso(facts.finished_at),
            "prov:wasAssociatedWith": {"@type": "prov:SoftwareAgent",
                                       "prov:label": facts.user_agent or "unknown"}},
        "additionalProperty": consent,
    }
    return {k: v for k, v in entity.items() if v is not None}


def _input_entity(item: dict[str, Any]) -> dict[str, Any]:
    digest = next((str(v) for k, v in item.items() if k.startswith("sha256")), None)
    path = str(item.get("path") or "")
    out: dict[str, Any] = {
        "@id": f"urn:sha256:{digest}" if digest else Path(path).resolve().as_uri(),
        "@type": "prov:Entity", "name": Path(path).name, "contentUrl": path,
        "encodingFormat": item.get("format"), "contentSize": f"{item.get('size')} B",
        "dateModified": item.get("mtime"),
    }
    if digest:
        out["sha256"] = digest
    return {k: v for k, v in out.items() if v is not None}


def _file(path: Path, name: str, fmt: str, description: str) -> dict[str, Any]:
    return {"@type": "cr:FileObject", "@id": name, "name": name, "description": description,
            "contentUrl": name,
            "encodingFormat": fmt, "contentSize": f"{path.stat().st_size} B",
            "sha256": sha256(path)}


def _overlap_recordset(data: RunData) -> dict[str, Any]:
    fields = [{"@type": "cr:Field", "@id": f"overlap/{c}", "name": c,
               "dataType": _DATATYPES[t]} for c, t in SUMMARY_TYPES.items()]
    rows = [{f"overlap/{c}": clean(r.get(c)) for c in SUMMARY_TYPES} for r in data.summary]
    return {"@type": "cr:RecordSet", "@id": "overlap", "name": "overlap",
            "description": "Per source: overlap in both directions with intervals "
                           "(the audit_summary rows of this run).",
            "key": [{"@id": "overlap/run"}, {"@id": "overlap/source"}],
            "field": fields, "data": rows}


SOURCE_FIELDS = {
    "source": "sc:Text", "snapshot_id": "sc:Text", "snapshot_finished_at": "sc:Text",
    "base_url": "sc:Text", "license": "sc:Text", "robots_recorded": "sc:Boolean",
    "robots_disallowed_agents": "sc:Text", "noai": "sc:Boolean", "tdm_reserved": "sc:Boolean",
    "content_usage": "sc:Text", "matched_documents": "sc:Integer",
}


def _sources_recordset(data: RunData) -> dict[str, Any]:
    rows = []
    for s in data.sources:
        f = data.snapshots[s]
        c = f.consent
        values = {"source": s, "snapshot_id": f.snapshot_id,
                  "snapshot_finished_at": iso(f.finished_at), "base_url": f.base_url,
                  "license": f.license, "robots_recorded": c.recorded,
                  "robots_disallowed_agents": ", ".join(c.disallowed_agents), "noai": c.noai,
                  "tdm_reserved": c.tdm_reserved, "content_usage": "; ".join(c.content_usage),
                  "matched_documents": data.matched_docs.get(s, 0)}
        rows.append({f"sources/{k}": v for k, v in values.items()})
    return {"@type": "cr:RecordSet", "@id": "sources", "name": "sources",
            "description": "Each audited snapshot: licence and consent signals at crawl time.",
            "key": {"@id": "sources/source"},
            "field": [{"@type": "cr:Field", "@id": f"sources/{k}", "name": k, "dataType": t}
                      for k, t in SOURCE_FIELDS.items()],
            "data": rows}


ATTRIBUTION_FIELDS = {"source": "sc:Text", "snapshot_id": "sc:Text", "doc_id": "sc:Text",
                      "kind": "sc:Text", "title": "sc:Text", "url": "sc:URL",
                      "license": "sc:Text", "train_docs": "sc:Integer"}


def _attribution_recordset() -> dict[str, Any]:
    return {"@type": "cr:RecordSet", "@id": "attribution", "name": "attribution",
            "description": "Matched source documents with licence and contributors "
                           "(the authors column lists them).",
            "key": [{"@id": "attribution/source"}, {"@id": "attribution/doc_id"}],
            "field": [{"@type": "cr:Field", "@id": f"attribution/{k}", "name": k,
                       "dataType": t,
                       "source": {"fileObject": {"@id": "attribution.parquet"},
                                  "extract": {"column": k}}}
                      for k, t in ATTRIBUTION_FIELDS.items()]}


def disclosure_record(data: RunData, report_dir: Path, files: dict[str, tuple[str, str]],
                      *, creator: str, record_license: str, generated_at: datetime
                      ) -> dict[str, Any]:
    """The disclosure record of ``data``.

    Args:
        report_dir: folder holding the report ``files`` (sizes and hashes are read there).
        files: file name -> (media type, description), in that folder.
        creator: who ran the audit (``creator``).
        record_license: licence of this record (URL).
        generated_at: when the report was written (``datePublished``).
    """
    meta = data.meta
    versions = meta.get("versions") or {}
    distribution = [_file(report_dir / n, n, fmt, d) for n, (fmt, d) in files.items()]
    outputs = meta.get("outputs") or {}
    for key, desc in (("matches", "audit_matches rows of this run"),
                      ("summary", "audit_summary rows of this run")):
        path = Path(str(outputs.get(key) or ""))
        if outputs.get(key) and path.is_file():
            distribution.append({**_file(path, f"run/{path.name}", "application/x-parquet",
                                         desc), "contentUrl": path.as_uri()})
    measured = []
    for r in data.summary:
        for key, what in MEASURES:
            measured.append({
                "@type": "PropertyValue", "name": f"{r['source']}: {what}", "propertyID": key,
                "value": clean(r.get(key)), "minValue": clean(r.get(f"{key}_low")),
                "maxValue": clean(r.get(f"{key}_high")), "unitText": "proportion",
                "measurementTechnique": f"{r.get(f'{key}_ci_method')} interval, confidence "
                                        f"{r.get('confidence')}"})
    params = [_prop(k, json.dumps(clean(v)) if isinstance(v, dict | list) else clean(v))
              for k, v in sorted(data.config.items())]
    snapshots = [_snapshot_entity(data.snapshots[s], data.matched_docs.get(s, 0))
                 for s in data.sources]
    inputs = [_input_entity(i) for i in meta.get("inputs") or []]
    record: dict[str, Any] = {
        "@context": CONTEXT, "@type": "sc:Dataset",
        "@id": f"urn:commons-provenance:audit:{data.run}",
        "name": f"commons-provenance audit {data.run}",
        "description": (
            f"Overlap audit '{data.run}': how much of a training set (fingerprints in "
            "prov:wasDerivedFrom) comes from each commons source snapshot, both ways, with "
            "confidence intervals; the licence and consent signals of each source at crawl "
            "time; and the matched documents with their contributors."),
        "conformsTo": CROISSANT, "license": record_license, "url": "index.html",
        "creator": {"@type": "Organization", "name": creator},
        "datePublished": iso(generated_at), "dateCreated": iso(meta.get("finished_at")),
        "version": "1.0.0",
        "citeAs": (f"@misc{{commons-provenance-{data.run}, title={{Overlap audit {data.run}}}, "
                   f"note={{commons-provenance {versions.get('commons-provenance') or ''}}}, "
                   f"year={{{generated_at.year}}}}}"),
        "keywords": ["training data provenance", "overlap audit", "attribution", "consent",
                     *data.sources],
        "measurementTechnique": (
            f"MinHash LSH (datasketch {versions.get('datasketch')}, scheme "
            f"{meta.get('scheme')}, num_perm {meta.get('num_perm')}, {meta.get('ngram')}-word "
            f"shingles) with near-duplicate threshold {meta.get('threshold')} and windowed "
            "containment; Wilson / Clopper-Pearson intervals for document shares, delta-method "
            "intervals for word shares; calibrated against exact Jaccard on a subsample."),
        "variableMeasured": measured,
        "rai:dataLimitations": (
            "Shares are estimates from MinHash signatures; the calibration false positive and "
            "negative rates are in the overlap record set. With sampling, the source-side "
            "shares are lower bounds."),
        "prov:wasDerivedFrom": [*inputs, *snapshots],
        "prov:wasGeneratedBy": {
            "@type": "prov:Activity", "prov:label": f"commons audit --run-name {data.run}",
            "prov:startedAtTime": iso(meta.get("started_at")),
            "prov:endedAtTime": iso(meta.get("finished_at")),
            "prov:used": [{"@id": e["@id"]} for e in [*inputs, *snapshots]],
            "prov:wasAssociatedWith": {
                "@type": ["prov:SoftwareAgent", "SoftwareApplication"],
                "name": "commons-provenance",
                "softwareVersion": versions.get("commons-provenance") or "unknown",
                "softwareRequirements": [f"{k} {v}" for k, v in sorted(versions.items()) if v]},
            "additionalProperty": params,
        },
        "distribution": distribution,
        "recordSet": [_overlap_recordset(data), _sources_recordset(data),
                      _attribution_recordset()],
    }
    return clean(record)  # type: ignore[no-any-return]
