"""Facts recorded with every snapshot and audit so a result can be reproduced."""

from __future__ import annotations

import hashlib
import platform
import socket
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES: tuple[str, ...] = (
    "commons-provenance",
    "scrapy",
    "twisted",
    "datasketch",
    "pyarrow",
    "duckdb",
    "mwparserfromhell",
    "protego",
    "xxhash",
    "numpy",
    "scipy",
)


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Installed versions of the packages a result depends on (None when absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES + extra:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def host_facts() -> dict[str, str]:
    """Where a run happened."""
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python_executable": sys.executable,
    }


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """ISO-8601 with a Z suffix, or None."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def file_fingerprint(path: Path, *, full_hash_limit: int = 64 * 1024 * 1024) -> dict[str, object]:
    """Size, mtime and a SHA-256 of a file (of its first and last 8 MiB when it is huge)."""
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if stat.st_size <= full_hash_limit:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
            method = "sha256"
        else:
            digest.update(fh.read(8 << 20))
            fh.seek(-(8 << 20), 2)
            digest.update(fh.read(8 << 20))
            digest.update(str(stat.st_size).encode())
            method = "sha256-head-tail-8MiB"
    return {
        "path": str(path),
        "size": stat.st_size,
        "mtime": iso(datetime.fromtimestamp(stat.st_mtime, UTC)),
        method: digest.hexdigest(),
    }
