"""The ``commons`` command: one entry point, with verbs."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import duckdb

from commons import __version__
from commons.catalog import Catalog, sql_literal
from commons.exceptions import CommonsError, QueryError
from commons.store import DataDir, SnapshotStore, check_source_name
from commons.tables import format_table

F = TypeVar("F", bound=Callable[..., Any])


def data_option(func: F) -> F:
    """``--data DIR``: the data store (default $COMMONS_DATA or ./data)."""
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("COMMONS_DATA", "data"),
        show_default="$COMMONS_DATA or ./data",
        help="Data store folder (snapshots, signatures, audits).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="commons")
def cli() -> None:
    """Measure how much of an AI training set came from a commons source.

    Crawl wikis and forums into Parquet snapshots, audit training sets against them, and
    query everything in DuckDB.
    """


@cli.group()
def crawl() -> None:
    """Snapshot a commons source into the Parquet store."""


def crawl_options(func: F) -> F:
    """Options every ``commons crawl KIND`` verb shares."""
    for option in reversed([
        click.option("--source", required=True, help="Name of the source in the store."),
        click.option("--contact", envvar="COMMONS_CONTACT",
                     help="E-mail or URL for the User-Agent, so site operators can reach you "
                          "(required; or $COMMONS_CONTACT)."),
        click.option("--delay", type=float, default=None,
                     help="Minimum seconds between requests (default 1.0; AutoThrottle and "
                          "robots.txt Crawl-delay can only raise it). Lower it only for a "
                          "site you run."),
        click.option("--snapshot-id", default=None, help="Snapshot id (default: UTC start time)."),
        click.option("--resume", is_flag=True,
                     help="Continue the source's newest unfinished snapshot (after a crash or "
                          "kill) instead of starting a new one; no document is written twice."),
        data_option,
        click.option("--verbose", "-v", is_flag=True, help="Show Scrapy's log."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]):
        func = option(func)
    return func


def crawl_settings(data_dir: Path, delay: float | None, verbose: bool,
                    quiet: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "COMMONS_DATA": str(data_dir),
        "LOG_LEVEL": "INFO" if verbose else "CRITICAL",
        "COMMONS_PROGRESS": not quiet,
    }
    if delay is not None:
        if delay < 0:
            raise click.BadParameter("must be >= 0", param_hint="--delay")
        settings["DOWNLOAD_DELAY"] = delay
        settings["AUTOTHROTTLE_START_DELAY"] = delay
    return settings


def run_and_report(spider: str, args: dict[str, Any], settings: dict[str, Any]) -> None:
    from crawler.base import check_base_url, check_contact
    from crawler.runner import run_crawl

    check_base_url(args["url"])
    check_source_name(args["source"])
    check_contact(args["contact"])
    result = run_crawl(spider, args, settings)
    click.echo(f"snapshot {result.source}/{result.snapshot_id}: {result.status}, "
               f"{result.documents} documents -> {result.snapshot_dir}")


@crawl.command("mediawiki")
@click.argument("url")
@crawl_options
@click.option("--namespace", "namespaces", type=int, multiple=True, default=(0,),
              show_default=True, help="Namespace id to crawl (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Stop after this many pages.")
@click.option("--incremental", is_flag=True,
              help="Fetch only what changed since the source's last complete snapshot "
                   "(recent changes: edits, new pages, deletions, moves); falls back to a "
                   "full crawl when the wiki's recent-changes window no longer reaches it.")
@click.option("--frontier", default=None, metavar="REDIS_URL",
              help="Share the crawl with every other `commons crawl` of this source given the "
                   "same Redis URL (e.g. redis://10.0.0.5:6379/0), on this or other machines: "
                   "one queue, one snapshot, one site's politeness for all. Needs the "
                   "'distributed' extra and the same --data on a shared filesystem.")
def crawl_mediawiki(url: str, source: str, contact: str | None, delay: float | None,
                    snapshot_id: str | None, resume: bool, data_dir: Path, verbose: bool,
                    quiet: bool, namespaces: tuple[int, ...], limit: int | None,
                    incremental: bool, frontier: str | None) -> None:
    """Snapshot every page of a MediaWiki site (URL of the site or of its api.php)."""
    if resume and incremental:
        raise click.UsageError("--resume continues an unfinished snapshot; drop --incremental")
    args: dict[str, Any] = {"url": url, "source": source, "contact": contact,
                            "namespaces": list(namespaces), "limit": limit,
                            "incremental": incremental, "resume": resume}
    if snapshot_id:
        args["snapshot_id"] = snapshot_id
    settings = crawl_settings(data_dir, delay, verbose, quiet)
    if frontier:
        from crawler.frontier import connect, refuse_unsupported

        refuse_unsupported(limit, incremental, resume)
        connect(frontier).close()
        settings["COMMONS_FRONTIER"] = frontier
    run_and_report("mediawiki", args, settings)


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
    con = Catalog(DataDir(data_dir)).connect()
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
    cat = Catalog(DataDir(data_dir))
    path = cat.write(db_path)
    click.echo(f"wrote {path} with views: {', '.join(cat.views())}")


def _register_plugins() -> None:
    """Verbs defined next to the code they drive."""
    from audit.cli import register as register_audit
    from audit.report.cli import register as register_report
    from crawler.cli import register as register_crawl
    from pipelines.cli import register as register_pipelines

    register_crawl(crawl)
    register_audit(cli)
    register_report(cli)
    register_pipelines(cli)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors become one line on stderr and a non-zero exit."""
    _register_plugins()
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
