"""Engines: how the audit's stages are scheduled, never what they compute.

Every stage hands its parallel work to an :class:`Engine` in one of two shapes:

* :meth:`Engine.map`: an ordered, bounded stream of jobs (signing batches of the training
  set and of a source);
* :meth:`Engine.run`: independent jobs whose results come back in call order (the
  partitions of the candidate join).

:class:`LocalEngine` runs them in threads of this process (the default; it needs no
cluster) with :func:`bounded_map`, whose threads the match stage uses too. ``RayEngine``
(:mod:`audit.ray_engine`) runs the same functions as Ray tasks.
Jobs are plain functions of files and arrays and results are consumed in input order, so
both engines produce the same files, bit for bit.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from audit.config import RunOptions

T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    """Schedules a stage's jobs; results are always returned in input order."""

    name: str

    def map(self, fn: Callable[[T], R], items: Iterable[T],
            width: int) -> Iterator[tuple[T, R]]:
        """``(item, fn(item))`` in input order, about ``width`` jobs in flight per worker."""
        ...

    def run(self, fn: Callable[..., R], calls: Sequence[tuple[Any, ...]]) -> list[R]:
        """``[fn(*args) for args in calls]``, the calls run side by side."""
        ...

    def partitions(self) -> int:
        """Hash partitions the candidate join is split into (1: one job)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What run.json records about the engine."""
        ...

    def close(self) -> None:
        """Release what the engine started."""
        ...


def workers() -> int:
    """Threads that run side by side: the CPUs this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """``(item, fn(item))`` in input order, with at most ``workers + 1`` items submitted and
    not yet yielded.

    ``fn`` runs in ``workers`` threads; the compiled kernels release the GIL, so signing
    overlaps reading and writing in the calling thread.
    """
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            while len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


class LocalEngine:
    """Threads of this process (the compiled kernels and DuckDB release the GIL)."""

    name = "local"

    def map(self, fn: Callable[[T], R], items: Iterable[T],
            width: int) -> Iterator[tuple[T, R]]:
        return bounded_map(fn, items, width)

    def run(self, fn: Callable[..., R], calls: Sequence[tuple[Any, ...]]) -> list[R]:
        return [fn(*args) for args in calls]

    def partitions(self) -> int:
        return 1

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": workers()}

    def close(self) -> None:
        return None


def make_engine(options: RunOptions) -> Engine:
    """The engine ``options.engine`` names.

    Raises:
        ConfigError: ``engine="ray"`` but Ray is not installed or the cluster is unreachable.
    """
    if options.engine == "ray":
        from audit.ray_engine import RayEngine

        return RayEngine(options.ray_address)
    return LocalEngine()
