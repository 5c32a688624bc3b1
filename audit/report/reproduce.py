"""How to reproduce a run: the ``commons audit`` command that has the run's parameters.

The command is derived from the ``commons audit`` verb's own options, so it follows the CLI
as it changes; configuration fields no option sets are listed apart (they can only differ
from their defaults through the Python API, ``audit.config.AuditConfig``).
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import click

from audit import cli as audit_cli

#: Option destinations whose AuditConfig field has another name.
_FIELD = {"minhash_seed": "seed"}
#: Options that do not change the results.
_SKIP = {"force", "keep_work", "quiet", "data_dir", "engine", "ray_address"}


def audit_command(config: dict[str, Any], data_dir: str) -> tuple[str, list[str]]:
    """(shell command, config fields that no option sets and that differ from the default)."""
    from audit.config import AuditConfig

    args = ["commons", "audit", *[str(i) for i in config.get("inputs") or []]]
    covered = {"inputs"}
    for param in audit_cli.audit_command.params:
        if not isinstance(param, click.Option) or param.name in _SKIP or param.name is None:
            continue
        key = _FIELD.get(param.name, param.name)
        covered.add(key)
        value = config.get(key)
        if key == "sources" and isinstance(value, list):
            value = ",".join(value)
        if value is None or param.is_flag:
            continue
        args += [param.opts[0], str(value)]
    args += ["--data", data_dir]
    defaults = {f.name: f.default for f in dataclasses.fields(AuditConfig)
                if f.default is not dataclasses.MISSING}
    extra = [f"{k}={config[k]!r}" for k in sorted(defaults)
             if k in config and k not in covered and k not in _SKIP
             and k not in ("progress", "scheme", "hashfunc") and config[k] != defaults[k]]
    return shlex.join(args), extra


def report_command(run: str, out: str, data_dir: str) -> str:
    """The ``commons report`` command that writes this report again."""
    return shlex.join(["commons", "report", run, "--out", out, "--data", data_dir])
