"""notebooks/overlap_explorer.ipynb runs headlessly (nbclient) against audit data the test
builds, and is committed without outputs."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT
from tests.audit.report.conftest import RUN
from tests.audit.report.world import ReportWorld

NOTEBOOK = ROOT / "notebooks" / "overlap_explorer.ipynb"


def test_committed_notebook_has_no_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 6
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:60]


def test_notebook_runs_and_plots(report_world: ReportWorld,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMONS_DATA", str(report_world.data.root))
    monkeypatch.setenv("COMMONS_RUN", RUN)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", startup_timeout=120,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for o in outputs)
    assert f"run: {RUN}" in text
    assert "20240101T000000Z" in text and "20240601T000000Z" in text  # over time
    assert "GPTBot, CCBot" in text or "CCBot, GPTBot" in text  # consent over time
    assert "CC-BY-NC-SA-3.0" in text and "CC-BY-SA-4.0" in text
    assert any(name in text for name in report_world.wiki_authors["long-0000"])
