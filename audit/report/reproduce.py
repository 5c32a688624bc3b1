"""How to reproduce a run: the ``commons audit`` command that has the run's parameters.

The command is derived from the ``commons audit`` verb's own options, so it follows the CLI
as it changes; configuration fields no option sets are listed apart (they can only differ
from their defaults through the Python API, ``audit.config.AuditConfig``).
"""

from __future__ import annotations

import shlex
from typing import Any

import click

from audit import cli as audit_cli
from audit.config import DERIVED, AuditConfig

#: Option destinations whose AuditConfig field has another name.
_FIELD = {"minhash_seed": "seed"}
#: Options that do not change the results, and ``--seed`` (deprecated: ``--sample-seed``).
_SKIP = {"force", "keep_work", "quiet", "data_dir", "engine", "ray_address", "deprecated_seed"}
#: Fields that are no setting: constants of this version, and whether bars were shown.
_NOT_SETTINGS = {*DERIVED, "scheme", "hashfunc", "progress"}


def audit_command(config: dict[str, Any], data_dir: str) -> tuple[str, list[str]]:
    """(shell command, config fields that no option sets and that differ from the default)
    for a run's recorded ``config`` (run.json's, :meth:`AuditConfig.to_dict`)."""
    recorded = AuditConfig.from_dict(config)
    values = recorded.to_dict()
    defaults = AuditConfig(recorded.run_name, recorded.inputs, recorded.sources).to_dict()
    args = ["commons", "audit", *values["inputs"]]
    covered = {"inputs"}
    for param in audit_cli.audit_command.params:
        if not isinstance(param, click.Option) or param.name in _SKIP or param.name is None:
            continue
        key = _FIELD.get(param.name, param.name)
        covered.add(key)
        value = ",".join(recorded.sources) if key == "sources" else values.get(key)
        if value is None or param.is_flag:
            continue
        args += [param.opts[0], str(value)]
    args += ["--data", data_dir]
    extra = [f"{k}={values[k]!r}" for k in sorted(values)
             if k not in covered and k not in _SKIP and k not in _NOT_SETTINGS
             and values[k] != defaults[k]]
    return shlex.join(args), extra


def report_command(run: str, out: str, data_dir: str) -> str:
    """The ``commons report`` command that writes this report again."""
    return shlex.join(["commons", "report", run, "--out", out, "--data", data_dir])
