"""Write a run's report folder: index.html, summary.md, ATTRIBUTION.md, attribution.parquet,
disclosure.json.

The files are written into a hidden staging folder next to the output, the disclosure record
is validated, and only then are they moved into place (``index.html`` last), so a failed
report never leaves a half-written set of files behind.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from audit.report.attribution import attribution_markdown, attribution_rows, write_parquet
from audit.report.disclosure import disclosure_record, validate
from audit.report.load import load_run
from audit.report.markdown import summary_markdown
from audit.report.page import render
from commons.catalog import Catalog
from commons.fsutil import fsync_dir
from commons.provenance import utcnow

#: Report files, in the order they are moved into place (index.html last).
FILES: dict[str, tuple[str, str]] = {
    "summary.md": ("text/markdown", "Headline table (Markdown)"),
    "ATTRIBUTION.md": ("text/markdown", "Matched documents with licence and contributors"),
    "attribution.parquet": ("application/x-parquet",
                            "Matched documents with licence and contributors"),
    "index.html": ("text/html", "The report, self-contained"),
}
CROISSANT_RECORD_LICENSE = "https://creativecommons.org/publicdomain/zero/1.0/"


@dataclass(frozen=True)
class ReportResult:
    """Where a report went and what it covers."""

    out_dir: Path
    index: Path
    run: str
    sources: list[str]
    attributed: int


def write_report(catalog: Catalog, run: str, out_dir: Path, *, top: int = 25,
                 creator: str = "commons-provenance",
                 record_license: str = CROISSANT_RECORD_LICENSE,
                 now: datetime | None = None) -> ReportResult:
    """Write the report of audit ``run`` into ``out_dir`` (created if needed).

    ``catalog`` needs the snapshot and audit views (:func:`audit.views.audit_views`).

    Raises:
        RunNotFoundError, RunNotCompleteError: the run cannot be reported.
        DisclosureInvalidError: the disclosure record failed its schema (nothing written).
    """
    generated = now or utcnow()
    loaded = load_run(catalog, run, top=top)
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = out_dir / f".report-{run}.tmp-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        con = catalog.connect()
        try:
            items = attribution_rows(con, run)
        finally:
            con.close()
        write_parquet(stage / "attribution.parquet", items)
        (stage / "ATTRIBUTION.md").write_text(attribution_markdown(loaded, items), "utf-8")
        (stage / "summary.md").write_text(summary_markdown(loaded), "utf-8")
        (stage / "index.html").write_text(
            render(loaded, out_dir=str(out_dir), generated_at=generated), "utf-8")
        record = disclosure_record(loaded, stage, FILES, creator=creator,
                                   record_license=record_license, generated_at=generated)
        validate(record)
        (stage / "disclosure.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
        for name in ["disclosure.json", *FILES]:
            with open(stage / name, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(stage / name, out_dir / name)
        fsync_dir(out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return ReportResult(out_dir, out_dir / "index.html", run, loaded.sources, len(items))
