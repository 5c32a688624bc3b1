"""File locks that end with their holder: one crawl per source, one scheduled run per source."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class SourceLock:
    """An exclusive, non-blocking lock on a file (``flock``): one holder per source.

    The lock is released when its holder exits, even after SIGKILL, so a crash never
    leaves a source locked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self, shared: bool = False) -> bool:
        """Take the lock; False when another holder has it.

        With ``shared``, any number of shared holders (the workers of one distributed
        crawl) may hold it together, but never alongside an exclusive holder.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        if not shared:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def holder(self) -> str:
        """The pid written by the current or last holder ('' when unknown)."""
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def held_elsewhere(self) -> bool:
        """Whether another holder has the lock now."""
        if self._fh is not None:
            return False
        if self.acquire():
            self.release()
            return False
        return True
