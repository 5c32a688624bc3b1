"""Shared fixtures: a real MediaWiki on loopback, and helpers to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.harness.mediawiki import MediaWikiServer, SeededPage, ensure_mediawiki_installed

if TYPE_CHECKING:
    from tests.audit.report.world import ReportWorld

ROOT = Path(__file__).resolve().parent.parent
WIKI_PAGES = 130  # > 2 API batches of 50
CONTACT = "tests@example.org"


@dataclass
class Wiki:
    server: MediaWikiServer
    pages: list[SeededPage]

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wiki]:
    """A real MediaWiki 1.39 (Debian package, SQLite) seeded with real prose."""
    ensure_mediawiki_installed()
    workdir = tmp_path_factory.mktemp("wiki")
    server = MediaWikiServer(workdir)
    server.start()
    try:
        pages = server.seed_default(WIKI_PAGES, seed=11)
        yield Wiki(server, pages)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def scratch_wiki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wiki]:
    """A second real MediaWiki (40 pages) that tests may edit; `wiki` stays as seeded."""
    ensure_mediawiki_installed()
    server = MediaWikiServer(tmp_path_factory.mktemp("scratch_wiki"))
    server.start()
    try:
        yield Wiki(server, server.seed_default(40, seed=5))
    finally:
        server.stop()


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
    """Run ``commons ARGS`` in a fresh process (Scrapy's reactor runs once per process)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "commons.cli", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def crawl_args(url: str, data: Path, source: str = "testwiki", *extra: str) -> list[str]:
    return ["crawl", "mediawiki", url, "--source", source, "--contact", CONTACT,
            "--delay", "0", "--quiet", "--data", str(data), *extra]


@pytest.fixture(scope="session")
def report_world(tmp_path_factory: pytest.TempPathFactory) -> ReportWorld:
    """Two sources, a planted training set and two audit runs (``tests/audit/report/world.py``),
    shared by the report's tests and the notebooks' tests."""
    from tests.audit.report.world import build_report_world

    return build_report_world(tmp_path_factory.mktemp("report-world"))
