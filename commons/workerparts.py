"""Part files of a snapshot that several crawler processes write at once (distributed crawls).

Each worker names its parts ``part-<worker>-<n>.parquet``, so workers never race on names
and none deletes another's temporary files. A part is written as
``.part-<worker>-<n>.parquet.tmp``, fsynced, *committed* (recorded in the shared frontier
together with the requests whose rows it holds), and only then renamed. The worker that
finishes the snapshot publishes the committed parts a killed worker had not yet renamed and
deletes the uncommitted ones (:func:`settle_worker_parts`); readers never see either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from commons.exceptions import ConfigError
from commons.fsutil import fsync_dir
from commons.schema import DOCUMENT_SCHEMA
from commons.store import DataDir

_WORKER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]{0,80}$")


class WorkerPartWriter:
    """One worker's part files inside a shared snapshot folder.

    Args:
        data: the data store.
        source: the source name.
        snapshot_id: the shared snapshot.
        worker: this worker's name (letters, digits, ``_`` and ``.``).
    """

    def __init__(self, data: DataDir, source: str, snapshot_id: str, worker: str) -> None:
        if not _WORKER_RE.match(worker):
            raise ConfigError(f"invalid worker name {worker!r}: use letters, digits, '_' or '.'")
        self.dir = data.snapshot_dir(source, snapshot_id)
        self.source = source
        self.snapshot_id = snapshot_id
        self.worker = worker
        self._next_part = 0

    def open(self) -> None:
        """Create the folder; drop this worker's own leftovers and continue its numbering."""
        self.dir.mkdir(parents=True, exist_ok=True)
        prefix = f"part-{self.worker}-"
        for tmp in self.dir.glob(f".{prefix}*.parquet.tmp"):
            tmp.unlink(missing_ok=True)
        numbers = [int(p.name[len(prefix):-len(".parquet")])
                   for p in self.dir.glob(f"{prefix}*.parquet")]
        self._next_part = max(numbers) + 1 if numbers else 0

    def write(self, rows: list[dict[str, Any]], commit: Callable[[str], bool]) -> Path | None:
        """Write ``rows`` as this worker's next part if ``commit(part name)`` accepts it.

        Returns the part's path, or None when there were no rows or the commit was refused
        (the temporary file is then deleted).
        """
        if not rows:
            return None
        for row in rows:
            row.setdefault("source", self.source)
            row.setdefault("snapshot_id", self.snapshot_id)
        table = pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA)
        name = f"part-{self.worker}-{self._next_part:05d}.parquet"
        tmp = self.dir / f".{name}.tmp"
        self._next_part += 1
        try:
            pq.write_table(table, tmp, compression="zstd", row_group_size=2000)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        # If commit() fails midway, the file stays: the finisher publishes it if the
        # commit was recorded after all, and deletes it otherwise.
        if not commit(name):
            tmp.unlink(missing_ok=True)
            return None
        path = self.dir / name
        try:
            os.replace(tmp, path)
        except FileNotFoundError:
            if not path.exists():  # the finisher publishes committed parts it finds
                raise
        fsync_dir(self.dir)
        return path


def settle_worker_parts(folder: Path, committed: Collection[str]) -> list[str]:
    """Publish the temporary parts in ``folder`` whose commit was recorded (their worker died
    between commit and rename), delete the other leftovers, and return the committed parts
    that are not in ``folder`` (a worker wrote to another data store).

    Run only by the worker that finishes the snapshot, once no worker is writing.
    """
    for tmp in folder.glob(".part-*.parquet.tmp"):
        final = tmp.name[1 : -len(".tmp")]
        if final in committed:
            os.replace(tmp, folder / final)
        else:
            tmp.unlink(missing_ok=True)
    fsync_dir(folder)
    return sorted(name for name in committed if not (folder / name).exists())
