"""`commons crawl KIND` verbs beyond MediaWiki: forums (Discourse, HTML forums)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_INCREMENTAL_HELP = ("Write only the posts that changed since the source's last complete snapshot, "
                     "and tombstones for those that are gone; falls back to a full crawl when "
                     "there is none to build on.")
_LICENSE_HELP = ("Licence of the forum's posts (SPDX id, licence URL or name); overrides what "
                 "the site states. Without it the licence comes from the site.")


def register(crawl: click.Group) -> None:
    """Add forum crawl verbs to the ``commons crawl`` group."""
    from commons.cli import crawl_options, crawl_settings, run_and_report
    from crawler.forumspec import load_preset, load_selectors, preset_names

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
