"""`commons report`: one-line errors for runs that cannot be reported; no half-written report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.config import AuditConfig, RunOptions
from audit.report import build
from audit.report.exceptions import DisclosureInvalidError
from audit.run import run_audit
from commons.api import catalog
from commons.exceptions import NoCompleteSnapshotError
from tests.audit.report.conftest import RUN
from tests.audit.report.world import ReportWorld
from tests.conftest import run_cli


def test_unknown_run_is_one_line_naming_the_runs(report_world: ReportWorld, tmp_path: Path
                                                  ) -> None:
    res = run_cli("report", "nope", "--out", str(tmp_path / "r"),
                  "--data", str(report_world.data.root))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no audit run 'nope'" in lines[0] and "after, before" in lines[0]
    assert "commons audits" in lines[0]
    assert not (tmp_path / "r" / "index.html").exists()


def test_failed_run_is_refused(report_world: ReportWorld, tmp_path: Path) -> None:
    config = AuditConfig(run_name="broken", inputs=(str(report_world.training),),
                         sources=("wiki", "nowhere"),
                         options=RunOptions(signer="reference", progress=False,
                                            memory_limit="256MB"))
    with pytest.raises(NoCompleteSnapshotError):
        run_audit(config, report_world.data)
    res = run_cli("report", "broken", "--out", str(tmp_path / "r"),
                  "--data", str(report_world.data.root))
    assert res.returncode == 2
    assert res.stderr.startswith("error: audit run 'broken' is failed (NoCompleteSnapshotError")
    assert "--force" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_a_failing_report_leaves_the_previous_one_alone(report_world: ReportWorld,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "index.html").write_text("previous report")

    def refuse(record: dict) -> None:
        raise DisclosureInvalidError("refused for the test")

    monkeypatch.setattr(build, "validate", refuse)
    with pytest.raises(DisclosureInvalidError):
        build.write_report(catalog(report_world.data), RUN, out)
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert (out / "index.html").read_text() == "previous report"


def test_report_is_written_in_process_too(report_world: ReportWorld, tmp_path: Path) -> None:
    result = build.write_report(catalog(report_world.data), "before", tmp_path / "r", top=3)
    assert result.index == (tmp_path / "r" / "index.html").resolve()
    assert sorted(p.name for p in result.out_dir.iterdir()) == sorted(
        ["index.html", "summary.md", "ATTRIBUTION.md", "attribution.parquet", "disclosure.json"])
    html = result.index.read_text()
    assert html.count('data-key="top_coverage"') == 3
    record = json.loads((result.out_dir / "disclosure.json").read_text())
    assert record["name"] == "commons-provenance audit before"


def test_sources_without_consent_records_still_report(tmp_path: Path) -> None:
    """Snapshots that recorded no consent signals (and so no consent figure) still render."""
    from tests.audit.conftest import config_for
    from tests.audit.fixtures import build_world

    world = build_world(tmp_path / "w", n_unrelated=20)
    run_audit(config_for(world, "plain"), world.data)
    res = run_cli("report", "plain", "--out", str(tmp_path / "r"), "--data",
                  str(world.data.root))
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "r" / "index.html").read_text()
    assert "not recorded" in html and "<svg" in html
