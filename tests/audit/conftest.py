"""Shared fixtures: one real-prose world and one audit of it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.config import AuditConfig
from audit.run import AuditResult, run_audit
from tests.audit.fixtures import World, build_world


def config_for(world: World, run_name: str, **kw: object) -> AuditConfig:
    """A quiet reference-engine config auditing the world's training file; ``kw`` are
    fields of the config, its params or its options (:meth:`AuditConfig.from_dict`)."""
    base: dict[str, object] = {
        "run_name": run_name, "inputs": (str(world.training),), "sources": ("wiki", "forum"),
        "signer": "reference", "progress": False, "memory_limit": "256MB",
    }
    base.update(kw)
    return AuditConfig.from_dict(base)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="session")
def audited(world: World) -> AuditResult:
    return run_audit(config_for(world, "base", keep_work=True), world.data)


@pytest.fixture()
def fresh_world(tmp_path: Path) -> World:
    return build_world(tmp_path, n_unrelated=30)
