"""The ``commons`` command: one entry point, with verbs."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import click
import duckdb

from audit.cli import audit_command, audits_command
from audit.report.cli import report_command
from commons import __version__
from commons.api import catalog as open_catalog
from commons.exceptions import CommonsError, QueryError
from commons.options import data_option
from commons.sql import sql_literal
from commons.store import DataDir, SnapshotStore
from commons.tables import format_table
from crawler.cli import consent, crawl
from pipelines.cli import schedule


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="commons")
def cli() -> None:
    """Measure how much of an AI training set came from a commons source.

    Crawl wikis and forums into Parquet snapshots, audit training sets against them, and
    query everything in DuckDB.
    """


@cli.command()
@data_option
@click.option("--source", default=None, help="Only this source.")
def snapshots(data_dir: Path, source: str | None) -> None:
    """List snapshots: source, snapshot, status, pages, started, finished, licence."""
    store = SnapshotStore(DataDir(data_dir))
    rows = [
        [m.source, m.snapshot_id, m.status, m.documents, m.started_at, m.finished_at,
         m.license.get("spdx") or m.license.get("text")]
        for m in store.manifests(source)
    ]
    if not rows:
        click.echo(f"no snapshots in {DataDir(data_dir).root}", err=True)
        return
    click.echo(format_table(["source", "snapshot", "status", "documents", "started",
                             "finished", "licence"], rows))


@cli.command()
@click.argument("query")
@data_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]),
              default="table", show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output (required for parquet).")
@click.option("--max-rows", type=int, default=200, show_default=True,
              help="Rows shown in table format.")
def sql(query: str, data_dir: Path, fmt: str, output: Path | None, max_rows: int) -> None:
    """Run a DuckDB query over the catalog views (documents, latest_documents, snapshots, ...)."""
    con = open_catalog(data_dir).connect()
    if fmt == "parquet" and output is None:
        raise click.BadParameter("parquet output needs --output FILE", param_hint="--format")
    try:
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            option = {"csv": "FORMAT CSV, HEADER", "json": "FORMAT JSON, ARRAY true",
                      "parquet": "FORMAT PARQUET, COMPRESSION zstd", "table": "FORMAT CSV, HEADER"}
            con.execute(f"COPY ({query.rstrip().rstrip(';')}) TO {sql_literal(str(output))} "
                        f"({option[fmt]})")
            click.echo(f"wrote {output}", err=True)
            return
        cur = con.execute(query)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {str(exc).splitlines()[0]}; list the views with "
                         "`commons sql \"SHOW TABLES\"`") from exc
    if cur.description is None:
        return
    columns = [d[0] for d in cur.description]
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(cur.fetchall())
    elif fmt == "json":
        for row in cur.fetchall():
            click.echo(json.dumps(dict(zip(columns, row, strict=True)), default=str))
    else:
        rows = cur.fetchmany(max_rows + 1)
        click.echo(format_table(columns, rows[:max_rows]))
        if len(rows) > max_rows:
            click.echo(f"(first {max_rows} rows; use --max-rows or --output)", err=True)


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("commons.duckdb"), show_default=True, help="Database file to write.")
@data_option
def catalog(db_path: Path, data_dir: Path) -> None:
    """Write a .duckdb file with the catalog views, for the duckdb CLI and notebooks."""
    cat = open_catalog(data_dir)
    path = cat.write(db_path)
    click.echo(f"wrote {path} with views: {', '.join(cat.views())}")


# Each package defines its verbs next to the code they drive; they are assembled here.
cli.add_command(crawl)
cli.add_command(consent)
cli.add_command(audit_command)
cli.add_command(audits_command)
cli.add_command(report_command)
cli.add_command(schedule)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors become one line on stderr and a non-zero exit."""
    try:
        cli.main(args=argv, prog_name="commons", standalone_mode=False)
    except CommonsError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # a bug, not bad input: keep it to one line unless debugging
        if os.environ.get("COMMONS_DEBUG"):
            raise
        click.echo(f"internal error: {exc.__class__.__name__}: {exc} (set COMMONS_DEBUG=1 "
                   "for a traceback and please report it)", err=True)
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
