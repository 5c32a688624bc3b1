"""The sources file: which commons sources to crawl, how, and when (TOML).

Example (``pipelines/sources.example.toml``)::

    [defaults]
    contact = "ops@example.org"

    [sources.examplewiki]
    kind = "mediawiki"                  # a spider name: mediawiki, or a forum kind
    url = "https://wiki.example.org"
    schedule = "0 3 * * 1"              # cron: Mondays at 03:00
    timezone = "UTC"                    # of the schedule (default UTC)
    incremental = true                  # only what changed since the last snapshot
    options = { namespaces = [0, 4] }   # spider arguments
    audits = ["c4-vs-commons"]          # audit runs to re-run after each new snapshot

Keys: ``kind``, ``url``, ``schedule`` (required); ``contact`` (here or in ``[defaults]``);
``timezone``, ``incremental``, ``resume`` (continue an unfinished snapshot younger than
``resume_within_hours``, default true and 24), ``delay`` (seconds between requests),
``options`` (spider arguments), ``audits``. ``[defaults]`` may hold any of these.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from commons.exceptions import CommonsError
from commons.store import check_source_name
from crawler.spiders.base import check_base_url, check_contact
from pipelines.exceptions import SourcesFileError

KEYS = frozenset({"kind", "url", "schedule", "contact", "timezone", "incremental", "resume",
                  "resume_within_hours", "delay", "options", "audits"})


@dataclass(frozen=True)
class SourceSpec:
    """One source of the sources file: what to crawl and when."""

    name: str
    kind: str
    url: str
    schedule: str
    contact: str
    timezone: str = "UTC"
    incremental: bool = False
    resume: bool = True
    resume_within_hours: float = 24.0
    delay: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    audits: tuple[str, ...] = ()

    def last_fire(self, now: datetime) -> datetime:
        """The newest time at or before ``now`` that the schedule names."""
        local = now.astimezone(ZoneInfo(self.timezone)) + timedelta(seconds=1)
        fired: datetime = croniter(self.schedule, local).get_prev(datetime)
        return fired

    def next_fire(self, after: datetime) -> datetime:
        """The first time after ``after`` that the schedule names."""
        fire: datetime = croniter(self.schedule, after.astimezone(ZoneInfo(self.timezone))
                                  ).get_next(datetime)
        return fire

    def spider_args(self) -> dict[str, Any]:
        """Arguments for the spider (``scrapy crawl KIND -a ...``)."""
        args: dict[str, Any] = {**self.options, "url": self.url, "source": self.name,
                                "contact": self.contact}
        if self.incremental:
            args["incremental"] = True
        return args

    def crawl_settings(self) -> dict[str, Any]:
        """Scrapy settings this source overrides."""
        if self.delay is None:
            return {}
        return {"DOWNLOAD_DELAY": self.delay, "AUTOTHROTTLE_START_DELAY": self.delay}


def load_sources(path: Path, kinds: frozenset[str] | None = None) -> list[SourceSpec]:
    """Read and check a sources file.

    Args:
        path: the TOML file.
        kinds: the crawl kinds (spider names) that exist; None skips that check.

    Raises:
        SourcesFileError: the file is missing, not TOML, or an entry is unusable (the
            message names the file and the entry's key).
    """
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise SourcesFileError(path, None, "no such file",
                               "create it (see pipelines/sources.example.toml) or pass "
                               "--sources FILE") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourcesFileError(path, None, f"not a readable TOML file ({exc})",
                               "fix the syntax") from exc
    defaults = data.get("defaults", {})
    sources = data.get("sources")
    if not isinstance(defaults, dict) or not isinstance(sources, dict) or not sources:
        raise SourcesFileError(path, "[sources]", "no [sources.NAME] tables",
                               "add one table per source (see pipelines/sources.example.toml)")
    unknown = set(data) - {"defaults", "sources"}
    if unknown:
        raise SourcesFileError(path, f"[{sorted(unknown)[0]}]", "unknown table",
                               "use only [defaults] and [sources.NAME]")
    return [_spec(path, name, {**defaults, **entry} if isinstance(entry, dict) else entry,
                  kinds) for name, entry in sources.items()]


def _spec(path: Path, name: str, entry: Any, kinds: frozenset[str] | None) -> SourceSpec:
    where = f"[sources.{name}]"

    def bad(key: str, problem: str, advice: str) -> SourcesFileError:
        return SourcesFileError(path, f"{where} {key}", problem, advice)

    if not isinstance(entry, dict):
        raise SourcesFileError(path, where, "not a table", "write [sources.NAME] with keys")
    try:
        check_source_name(name)
    except CommonsError as exc:
        raise SourcesFileError(path, where, "invalid source name",
                               "use 1-64 letters, digits, '.', '_' or '-'") from exc
    unknown = set(entry) - KEYS
    if unknown:
        raise bad(sorted(unknown)[0], "unknown key", f"use only {', '.join(sorted(KEYS))}")
    for key in ("kind", "url", "schedule", "contact"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise bad(key, "missing or not a string",
                      f"set {key} here" + (" or in [defaults]" if key == "contact" else ""))
    for key, check in (("url", check_base_url), ("contact", check_contact)):
        try:
            check(entry[key].strip())
        except CommonsError as exc:
            raise bad(key, f"{entry[key]!r} is not usable", str(exc).split(": ", 1)[-1]) \
                from exc
    if kinds is not None and entry["kind"] not in kinds:
        raise bad("kind", f"unknown kind {entry['kind']!r}",
                  f"use one of {', '.join(sorted(kinds))}")
    if not croniter.is_valid(entry["schedule"]):
        raise bad("schedule", f"{entry['schedule']!r} is not a cron expression",
                  "write five fields, e.g. \"0 3 * * 1\" (Mondays 03:00)")
    try:
        ZoneInfo(str(entry.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad("timezone", f"unknown time zone {entry.get('timezone')!r}",
                  "use an IANA name such as UTC or Europe/Berlin") from exc
    options, audits = entry.get("options", {}), entry.get("audits", [])
    if not isinstance(options, dict):
        raise bad("options", "not a table", "write options = { key = value, ... }")
    if not isinstance(audits, list) or not all(isinstance(a, str) for a in audits):
        raise bad("audits", "not a list of audit run names", "write audits = [\"run-name\"]")
    for key in ("incremental", "resume"):
        if not isinstance(entry.get(key, False), bool):
            raise bad(key, "not true or false", f"write {key} = true")
    for key in ("delay", "resume_within_hours"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int | float) or value < 0):
            raise bad(key, "not a number >= 0", f"write {key} = 1.0")
    return SourceSpec(
        name=name, kind=entry["kind"], url=entry["url"].strip(), schedule=entry["schedule"],
        contact=entry["contact"].strip(), timezone=str(entry.get("timezone", "UTC")),
        incremental=entry.get("incremental", False), resume=entry.get("resume", True),
        resume_within_hours=float(entry.get("resume_within_hours", 24.0)),
        delay=float(entry["delay"]) if entry.get("delay") is not None else None,
        options=dict(options), audits=tuple(audits))
