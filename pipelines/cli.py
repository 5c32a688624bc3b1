"""``commons schedule run|status``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from commons.exceptions import ConfigError
from commons.options import data_option
from commons.provenance import utcnow
from commons.store import DataDir
from commons.tables import format_table
from pipelines.scheduler import Scheduler

DEFAULT_SOURCES = "pipelines/sources.toml"


def crawl_kinds() -> frozenset[str]:
    """The spider names of the crawler project (the ``kind`` a source may have)."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.runner import project_settings

    return frozenset(SpiderLoader.from_settings(project_settings()).list())


def _clock(now: str | None) -> datetime | None:
    if now is None:
        return None
    try:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"--now {now!r} is not an ISO time; write e.g. "
                          "2026-11-30T03:00:00Z") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


sources_option = click.option(
    "--sources", "sources_file", type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: os.environ.get("COMMONS_SOURCES", DEFAULT_SOURCES),
    show_default=f"$COMMONS_SOURCES or {DEFAULT_SOURCES}",
    help="The sources file (TOML): kind, URL, options, contact and cron schedule per source.")
now_option = click.option(
    "--now", default=None, help="Decide what is due as if it were this UTC time "
                                "(ISO 8601; for catch-up runs and tests).")

def scheduler(sources_file: Path, data_dir: Path, now: str | None) -> Scheduler:
    from pipelines.sources import load_sources

    moment = _clock(now)
    specs = load_sources(sources_file, crawl_kinds())
    return Scheduler(DataDir(data_dir), specs, clock=(lambda: moment) if moment else utcnow,
                     say=lambda line: click.echo(line, err=True),
                     sources_file=sources_file.resolve())

@click.group()
def schedule() -> None:
    """Run due crawls from a sources file (for cron or a systemd timer), or show them."""

@schedule.command("run")
@sources_option
@data_option
@now_option
@click.option("--only", "only", multiple=True,
              help="Consider only this source (repeatable).")
def schedule_run(sources_file: Path, data_dir: Path, now: str | None,
                 only: tuple[str, ...]) -> None:
    """Run every crawl that is due, one at a time, then exit."""
    from pipelines.exceptions import ScheduledRunsFailedError

    sched = scheduler(sources_file, data_dir, now)
    if only:
        unknown = set(only) - {s.name for s in sched.sources}
        if unknown:
            raise ConfigError(f"--only {sorted(unknown)[0]!r} is not in {sources_file}")
        sched.sources = [s for s in sched.sources if s.name in only]
    records = sched.run_due()
    if not records:
        click.echo("nothing due", err=True)
    failed = [r for r in records if r.status != "complete" or r.error]
    if failed:
        raise ScheduledRunsFailedError(
            f"{len(failed)} of {len(records)} scheduled runs failed "
            f"({', '.join(f'{r.source}: {r.error}' for r in failed)}); see "
            "`commons schedule status` and the crawl_runs view")

@schedule.command("status")
@sources_option
@data_option
@now_option
def schedule_status(sources_file: Path, data_dir: Path, now: str | None) -> None:
    """Each source: schedule, last run, its status and snapshot, and when it is next due."""
    sched = scheduler(sources_file, data_dir, now)
    rows = [[s.source, s.kind, s.schedule, s.last_started or "never", s.last_status or "-",
             s.last_snapshot or "-", s.next_due] for s in sched.status()]
    click.echo(format_table(["source", "kind", "schedule", "last run", "status",
                             "snapshot", "next due"], rows))
