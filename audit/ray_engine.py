"""The Ray engine: the audit's jobs as Ray tasks on a cluster (``commons audit --engine ray``).

The stages and their functions are the local engine's; only the scheduling differs:

* ordered streams (signing) keep a bounded window of tasks in flight and take results in
  input order, so the files written are the same as with threads;
* the candidate join is split into hash partitions on the join key (``(band, h)`` for the
  LSH bands, ``h`` for the containment anchors), one DuckDB task per partition, and the
  driver merges the partition results in partition order (see :mod:`audit.index.join`).

Workers read and write the run's files by path, so every node must see the data store at
the same path (a shared filesystem), and run the same project version in its Python
environment. Without ``--ray-address`` a private local cluster is started on 127.0.0.1 and
stopped at the end.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from commons.exceptions import ConfigError

T = TypeVar("T")
R = TypeVar("R")

#: Partitions of the candidate join on Ray (a power of two, at most 16: see audit.index.anchors).
PARTITIONS = 16

#: Environment of a private local cluster: loopback only, no usage reporting.
LOCAL_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (Ray itself retries for minutes) when ``host:port`` does not answer."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"--ray-address {address}: no Ray cluster answers there ({exc}); start it with "
            "`ray start --head` or check the address") from exc


class RayEngine:
    """Runs jobs as Ray tasks.

    Args:
        address: ``None`` starts a private local cluster; ``"auto"`` or ``host:port``
            connects to an existing one (started with ``ray start --head``).

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached.
    """

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "--engine ray needs Ray: pip install 'commons-provenance[distributed]' "
                "(or run without --engine ray)") from exc
        self._ray = ray
        self.address = address
        self._started = False
        if not ray.is_initialized():
            if address not in (None, "auto"):
                _check_reachable(address)
            try:
                if address is None:
                    os.environ.update(LOCAL_ENV)
                    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False,
                             log_to_driver=False, object_store_memory=512 * 1024 * 1024,
                             configure_logging=False)
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(
                    f"--ray-address {address}: cannot connect to the Ray cluster "
                    f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                    "start it with `ray start --head` or check the address") from exc
            self._started = True
        self._remote = ray.remote(_call)

    @property
    def cpus(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable[[T], R], items: Iterable[T],
            width: int) -> Iterator[tuple[T, R]]:
        fn_ref = self._ray.put(fn)  # shipped once, not with every task
        limit = max(2, width, 2 * self.cpus)
        pending: deque[tuple[T, Any]] = deque()
        for item in items:
            pending.append((item, self._remote.remote(fn_ref, item)))
            while len(pending) > limit:
                done, ref = pending.popleft()
                yield done, self._ray.get(ref)
        while pending:
            done, ref = pending.popleft()
            yield done, self._ray.get(ref)

    def run(self, fn: Callable[..., R], calls: Sequence[tuple[Any, ...]]) -> list[R]:
        fn_ref = self._ray.put(fn)
        result: list[R] = self._ray.get([self._remote.remote(fn_ref, *args) for args in calls])
        return result

    def partitions(self) -> int:
        return PARTITIONS

    def describe(self) -> dict[str, Any]:
        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        return {"engine": self.name, "address": self.address or "local",
                "ray": self._ray.__version__, "nodes": len(nodes), "cpus": self.cpus,
                "partitions": PARTITIONS}

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False
