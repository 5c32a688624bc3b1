"""Docs are tested: every command has help, every view the README names exists, doctests pass."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import click
import pytest

from commons.api import catalog
from commons.cli import cli
from commons.store import DataDir

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

DOCTEST_MODULES = [
    "commons.normalize",
    "commons.licenses",
    "commons.tables",
    "crawler.mediawiki.wikitext",
    "crawler.middlewares",
    "crawler.spiders.base",
    "crawler.forum.htmltext",
    "crawler.forum.spec",
    "crawler.forum.site",
    "audit.report.fmt",
    "audit.report.attribution",
    "crawler.consent.signals",
    "commons.sql",
    "commons.chain",
    "commons.threads",
    "crawler.mediawiki.recentchanges",
    "crawler.forum.delta",
    "crawler.mediawiki.pages",
    "crawler.frontier.client",
    "crawler.consent.ledger",
    "audit.config",
    "audit.estimate.intervals",
    "audit.read.readers",
    "audit.signing.compiled",
    "audit.signing.contract",
    "audit.signing.reference",
]


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        out.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            out += _commands(command, f"{prefix}{name} ")
    return out


def test_every_command_has_help_and_is_in_the_readme() -> None:
    commands = _commands(cli)
    assert len(commands) >= 5
    for name, command in commands:
        assert (command.help or "").strip(), f"`commons {name}` has no help text"
        assert f"commons {name}" in README, f"`commons {name}` is not in the README"
        for param in command.params:
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"`commons {name} {param.opts[0]}` has no help"


def test_every_view_in_the_readme_exists(tmp_path: Path) -> None:
    table = README.split("## The DuckDB catalog", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert {"documents", "latest_documents", "snapshots"} <= named
    views = set(catalog(DataDir(tmp_path)).views())
    assert named <= views, f"README names views the catalog lacks: {named - views}"
    assert views <= named, f"views missing from the README: {views - named}"


def test_every_parquet_column_is_documented() -> None:
    from commons.schema import DOCUMENT_SCHEMA

    for column in DOCUMENT_SCHEMA.names:
        assert f"| `{column}` |" in README, f"column {column} is not in the README"


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_the_python_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python API example, as written, in a folder holding `data/` (complete
    snapshots of `wiki` and `forum`) and `train.parquet`."""
    from tests.audit.report.world import build_report_world

    section = README.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    build_report_world(tmp_path)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md: Python API", "exec"), {})
    assert (tmp_path / "data" / "audits" / "api-example" / "run.json").is_file()
    assert (tmp_path / "report" / "index.html").is_file()
