"""Shared fixtures: the report of the report world (``report_world``, in ``tests/conftest.py``)
written by the real CLI, its catalog, a real Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from commons import api
from tests.audit.report.world import ReportWorld
from tests.conftest import ROOT, run_cli

RUN = "after"
#: Debian's chromium, driven by Playwright (never `playwright install`).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: Screenshots are also copied here (git-ignored) so a person can look at them.
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def report_dir(report_world: ReportWorld) -> Path:
    """The report of run ``after``, written by `commons report` in a fresh process."""
    out = report_world.root / "report"
    res = run_cli("report", RUN, "--out", str(out), "--data", str(report_world.data.root))
    assert res.returncode == 0, res.stderr
    assert f"-> {out / 'index.html'}" in res.stdout
    return out


@pytest.fixture(scope="session")
def catalog(report_world: ReportWorld) -> Iterator[duckdb.DuckDBPyConnection]:
    con = api.catalog(report_world.data).connect()
    yield con
    con.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
          ) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def save_artifact(path: Path) -> Path:
    """Copy a test artifact to ``test-artifacts/`` and return the copy."""
    ARTIFACTS.mkdir(exist_ok=True)
    dest = ARTIFACTS / path.name
    shutil.copyfile(path, dest)
    return dest
