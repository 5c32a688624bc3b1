"""CLI verb of the report writer: ``commons report``."""

from __future__ import annotations

from pathlib import Path

import click

from commons.options import data_option


@click.command("report")
@click.argument("run")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("report"), show_default=True,
              help="Folder for index.html, summary.md, ATTRIBUTION.md, attribution.parquet "
                   "and disclosure.json.")
@click.option("--top", type=click.IntRange(min=1), default=25, show_default=True,
              help="Matched pages listed in the report's top table.")
@click.option("--creator", default="commons-provenance", show_default=True,
              help="Who ran the audit (the disclosure record's creator).")
@click.option("--record-license", default="https://creativecommons.org/publicdomain/zero/1.0/",
              show_default=True,
              help="Licence URL of the disclosure record itself (matched documents keep "
                   "their own licences).")
@data_option
def report_command(run: str, out_dir: Path, top: int, creator: str, record_license: str,
                   data_dir: Path) -> None:
    """Write the report of audit RUN: HTML with charts, summary, attribution, disclosure.

    RUN is a complete audit run (see `commons audits`). The HTML page is self-contained
    and works offline.
    """
    from audit.report.build import write_report
    from audit.views import audit_views
    from commons.catalog import Catalog
    from commons.store import DataDir

    result = write_report(Catalog(DataDir(data_dir), [audit_views]), run, out_dir, top=top,
                          creator=creator, record_license=record_license)
    click.echo(f"report of {run} ({', '.join(result.sources)}; {result.attributed} matched "
               f"documents attributed) -> {result.index}")
