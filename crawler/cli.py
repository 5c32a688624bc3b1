"""The crawler's verbs: ``commons crawl mediawiki|discourse|forum`` and ``commons consent``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from commons.options import F, data_option
from commons.tables import format_table
from crawler.forum.spec import load_preset, load_selectors, preset_names

_INCREMENTAL_HELP = ("Write only the posts that changed since the source's last complete snapshot, "
                     "and tombstones for those that are gone; falls back to a full crawl when "
                     "there is none to build on.")
_LICENSE_HELP = ("Licence of the forum's posts (SPDX id, licence URL or name); overrides what "
                 "the site states. Without it the licence comes from the site.")


@click.group()
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
    """The Scrapy settings the shared crawl options set."""
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
    """Check the arguments, run the crawl and print how it ended."""
    from commons.store import check_source_name
    from crawler.runner import run_crawl
    from crawler.spiders.base import check_base_url, check_contact

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
        from crawler.frontier.client import connect, refuse_unsupported

        refuse_unsupported(limit, incremental, resume)
        connect(frontier).close()
        settings["COMMONS_FRONTIER"] = frontier
    run_and_report("mediawiki", args, settings)


def common_args(url: str, source: str, contact: str | None, snapshot_id: str | None,
                resume: bool, license_: str | None, incremental: bool) -> dict[str, Any]:
    if resume and incremental:
        raise click.UsageError("--resume continues an unfinished snapshot; drop "
                               "--incremental")
    args: dict[str, Any] = {"url": url, "source": source, "contact": contact,
                            "resume": resume, "license": license_,
                            "incremental": incremental}
    if snapshot_id:
        args["snapshot_id"] = snapshot_id
    return args

@crawl.command("discourse")
@click.argument("url")
@crawl_options
@click.option("--category", default=None,
              help="Only this category (slug or id; its subcategories' topics included).")
@click.option("--license", "license_", default=None,
              help=_LICENSE_HELP + " Discourse: read from the site's /tos.")
@click.option("--incremental", is_flag=True,
              help=_INCREMENTAL_HELP + " Discourse: only topics bumped since then are read.")
def crawl_discourse(url: str, source: str, contact: str | None, delay: float | None,
                    snapshot_id: str | None, resume: bool, data_dir: Path, verbose: bool,
                    quiet: bool, category: str | None, license_: str | None,
                    incremental: bool) -> None:
    """Snapshot every post of a Discourse forum through its JSON API."""
    args = common_args(url, source, contact, snapshot_id, resume, license_, incremental)
    args["category"] = category
    run_and_report("discourse", args, crawl_settings(data_dir, delay, verbose, quiet))

@crawl.command("forum")
@click.argument("url")
@crawl_options
@click.option("--preset", type=click.Choice(preset_names()), default=None,
              help="Shipped description of the forum software's markup.")
@click.option("--selectors", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML description of the forum's markup (see crawler/presets/*.toml).")
@click.option("--license", "license_", default=None,
              help=_LICENSE_HELP + " HTML forums: the entry page's rel=license link.")
@click.option("--incremental", is_flag=True,
              help=_INCREMENTAL_HELP + " HTML forums: thread pages are asked for with "
                   "If-None-Match/If-Modified-Since when the site sent validators.")
def crawl_forum(url: str, source: str, contact: str | None, delay: float | None,
                snapshot_id: str | None, resume: bool, data_dir: Path, verbose: bool,
                quiet: bool, preset: str | None, selectors: Path | None,
                license_: str | None, incremental: bool) -> None:
    """Snapshot every post of an HTML forum (phpBB, django-spirit, or described in TOML)."""
    if bool(preset) == bool(selectors):
        raise click.UsageError("give exactly one of --preset NAME or --selectors FILE.toml")
    if selectors is not None:
        load_selectors(selectors)  # a bad file fails here, before any request
    else:
        load_preset(str(preset))
    args = common_args(url, source, contact, snapshot_id, resume, license_, incremental)
    if preset:
        args["preset"] = preset
    else:
        args["selectors"] = str(Path(str(selectors)).resolve())
    run_and_report("forum", args, crawl_settings(data_dir, delay, verbose, quiet))


@click.command("consent")
@click.argument("source")
@data_option
@click.option("--diff", "show_diff", is_flag=True,
              help="Show what changed from each snapshot to the next.")
def consent(source: str, data_dir: Path, show_diff: bool) -> None:
    """Consent and licence signals of SOURCE per snapshot (robots.txt, TDMRep, noai, ...)."""
    from commons.catalog import Catalog
    from commons.store import DataDir
    from crawler.consent.ledger import describe, diff_report, ledger
    from crawler.views import crawl_views

    rows = ledger(Catalog(DataDir(data_dir), [crawl_views]), source)
    if show_diff:
        for line in diff_report(rows) or ["only one snapshot: nothing to compare"]:
            click.echo(line)
        return
    table = [[r["snapshot_id"], r["status"], describe(r["license"]),
              describe(r["robots_status"]), describe(r["own_agent_allowed"]),
              describe(r["agents_disallowed"]), describe(r["crawl_delay"]),
              describe(r["tdm_reservation"]), "noai" if r["noai"] else "-",
              describe(r["content_usage"] or r["robots_content_usage"]),
              describe(r["rsl_license"]), (r["terms_sha256"] or "-")[:12]] for r in rows]
    click.echo(format_table(["snapshot", "status", "licence", "robots", "us allowed",
                             "disallowed agents", "crawl-delay", "tdm", "noai",
                             "content-usage", "RSL", "terms sha256"], table))
