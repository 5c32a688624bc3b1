"""The layout check of `make lint`: it finds cycles and oversized modules, and the tree has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.check_layout import cycles, import_graph, main, modules
from tests.conftest import ROOT


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_project_has_no_cycle_and_no_oversized_module(capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    assert main(ROOT) == 0, capsys.readouterr().out


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path: Path) -> None:
    _write(tmp_path, {
        "commons/__init__.py": "",
        "commons/a.py": "from commons.b import x\n",
        "commons/b.py": "def f():\n    from commons import a\n",
        "commons/c.py": "import commons.a\n",
    })
    assert cycles(import_graph(modules(tmp_path))) == [["commons.a", "commons.b"]]


def test_a_package_importing_its_own_submodules_is_not_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {
        "audit/__init__.py": "from audit.x import y\n",
        "audit/x.py": "from audit import z\ny = 1\n",
        "audit/z.py": "",
    })
    assert cycles(import_graph(modules(tmp_path))) == []


def test_an_oversized_module_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    _write(tmp_path, {"bench/__init__.py": "", "bench/big.py": "x = 1\n" * 451,
                      "bench/_kernels.py": "x = 1\n" * 600})
    assert main(tmp_path) == 1
    out = capsys.readouterr().out
    assert "bench/big.py: 451 lines" in out and "_kernels" not in out
