"""The client of a distributed crawl's Redis keys, and the checks before a worker starts.

Redis keys of one crawl (``C`` = ``commons:<source>:<snapshot id>``):
``commons:<source>:current`` (the snapshot being crawled), ``C:requests`` (scrapy-redis
priority queue), ``C:dupefilter``, ``C:inflight:<worker>`` (leased requests: lease id ->
``score\\nrequest``), ``C:workers``, ``C:alive:<worker>`` (heartbeat), ``C:committed`` (part
files), ``C:stats``, ``C:counters`` (crawl-wide counts), ``C:done`` (the finisher),
``C:failed``, ``C:manifest_lock``, ``C:finished`` (the outcome, kept a day),
``C:floor:<site>``; and per site
``commons:site:<site>:busy`` and ``:next``.

Requests are pickled (scrapy-redis): whoever can write to the Redis can run code in the
workers, so it must be trusted (loopback, or a private network with a password or TLS).
The Lua scripts touch keys they compute, so Redis Cluster is not supported.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from commons.exceptions import ConfigError
from crawler.frontier.lua import (
    COMMIT,
    DELETE_IF_EQUAL,
    DRAINED,
    ENQUEUE,
    FAIL,
    GIVE_BACK,
    HEARTBEAT,
    JOIN,
    POP_LEASE,
    PUBLISH,
    REAP,
    REQUEUE_LEASED,
)

if TYPE_CHECKING:
    from redis import Redis

#: How long the outcome of a finished crawl stays in Redis (stragglers read it).
FINISHED_TTL_S = 86400


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def redact(url: str) -> str:
    """The URL without its password, for messages and manifests.

    >>> redact("redis://:s3cret@10.0.0.5:6379/0")
    'redis://10.0.0.5:6379/0'
    """
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def connect(url: str) -> Redis:
    """A client for the frontier at ``url``, checked with PING.

    Raises:
        ConfigError: the packages are missing, the URL is not a Redis URL, or Redis is
            unreachable.
    """
    try:
        import redis
        import scrapy_redis  # noqa: F401 - the scheduler is built on it
    except ImportError as exc:
        raise ConfigError(
            f"--frontier needs the optional packages scrapy-redis and redis ({exc}); install "
            "them with: pip install 'commons-provenance[distributed]'") from exc
    shown = redact(url)
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"--frontier {shown!r} is not a Redis URL; give one like "
                          "redis://127.0.0.1:6379/0")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30,
                                      health_check_interval=30)
        client.ping()
    except (redis.RedisError, ValueError, OSError) as exc:
        raise ConfigError(f"--frontier {shown}: Redis unreachable ({exc}); start Redis "
                          "there or fix the URL") from exc
    return client


def refuse_unsupported(limit: int | None, incremental: bool, resume: bool) -> None:
    """Raise ConfigError for the options a distributed crawl does not support."""
    if limit is not None:
        raise ConfigError("--limit counts the pages of one process; it cannot be shared by "
                          "the workers of a distributed crawl: drop --limit or --frontier")
    if incremental:
        raise ConfigError("--incremental is not supported with --frontier: run the "
                          "incremental crawl without --frontier")
    if resume:
        raise ConfigError("--resume is not needed with --frontier: start workers again with "
                          "the same --frontier and they continue the crawl kept in Redis")


def new_worker_name() -> str:
    """A unique worker name: host, pid and a random suffix (letters, digits, '_', '.')."""
    host = re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40] or "host"
    return f"{host}.{os.getpid()}.{uuid.uuid4().hex[:6]}"


class Frontier:
    """The Redis keys and atomic steps of one distributed crawl, as one worker sees them.

    Args:
        client: a Redis client (bytes in, bytes out).
        source: the source being crawled.
        worker: this worker's name.
    """

    def __init__(self, client: Redis, source: str, worker: str) -> None:
        self.redis = client
        self.source = source
        self.worker = worker
        self.pointer = f"commons:{source}:current"
        self.snapshot_id = ""
        self.prefix = ""
        scripts = {name: client.register_script(code) for name, code in (
            ("join", JOIN), ("heartbeat", HEARTBEAT), ("pop", POP_LEASE),
            ("enqueue", ENQUEUE), ("requeue", REQUEUE_LEASED), ("commit", COMMIT),
            ("reap", REAP), ("drained", DRAINED), ("fail", FAIL), ("give_back", GIVE_BACK),
            ("publish", PUBLISH), ("del_eq", DELETE_IF_EQUAL))}
        self._scripts = scripts

    def key(self, name: str) -> str:
        """The crawl's key ``name`` (e.g. ``requests``)."""
        return f"{self.prefix}:{name}"

    @property
    def inflight(self) -> str:
        return self.key(f"inflight:{self.worker}")

    @property
    def alive(self) -> str:
        return self.key(f"alive:{self.worker}")

    def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return self._scripts[script](keys=keys, args=args)

    # -- joining and staying alive -----------------------------------------------------------

    def join(self, candidate: str) -> bool:
        """Join the source's crawl in progress, or start one as snapshot ``candidate``.

        Returns True when this worker started it (it writes the first manifest).
        """
        current, created = self._run("join", [self.pointer], [candidate])
        self.snapshot_id = current.decode()
        self.prefix = f"commons:{self.source}:{self.snapshot_id}"
        return bool(created)

    def heartbeat(self, ttl_ms: int) -> bool:
        """Say this worker is alive for ``ttl_ms``; False once the crawl is over."""
        return bool(self._run("heartbeat", [self.alive, self.key("workers"),
                                            self.key("finished")], [ttl_ms, self.worker]))

    def reap(self) -> int:
        """Requeue the leases of workers whose heartbeat expired; how many."""
        return int(self._run("reap", [self.key("requests"), self.key("workers")],
                             [self.prefix]))

    def give_back(self) -> int:
        """Leave the crawl: requeue every lease of this worker now; how many."""
        return int(self._run("give_back", [self.key("requests"), self.key("workers"),
                                           self.inflight, self.alive, self.key("finished")],
                             [self.worker]))

    # -- the queue ----------------------------------------------------------------------------

    def pop_lease(self, lease: str) -> bytes | None:
        """Move the first queued request into this worker's leases as ``lease``."""
        data: bytes | None = self._run("pop", [self.key("requests"), self.inflight], [lease])
        return data

    def enqueue(self, fingerprint: str | None, score: float, data: bytes) -> bool:
        """Queue a request unless its fingerprint was seen (None: never filtered)."""
        return bool(self._run("enqueue", [self.key("requests"), self.key("dupefilter"),
                                          self.key("finished")],
                              [fingerprint or "", score, data]))

    def requeue_leased(self, lease: str, score: float, data: bytes) -> bool:
        """Replace leased work by a new request (retry, redirect); False if not ours."""
        return bool(self._run("requeue", [self.key("requests"), self.inflight],
                              [lease, score, data]))

    def queued(self) -> int:
        return int(self.redis.zcard(self.key("requests")))

    def commit(self, part: str, leases: list[str], stats: dict[str, Any] | None = None) -> bool:
        """Record part file ``part`` ('' for none) and release ``leases``, atomically."""
        payload = json.dumps(stats, default=str) if stats else ""
        return bool(self._run("commit", [self.inflight, self.key("committed"), self.key("stats"),
                                         self.key("done"), self.key("finished")],
                              [part, self.worker, payload, *leases]))

    # -- the end ------------------------------------------------------------------------------

    def drained(self) -> int:
        """0: work left; 1: drained, another worker finishes; 2: you finish; 3: failed."""
        return int(self._run("drained", [self.key("requests"), self.key("workers"),
                                         self.key("done"), self.key("failed"),
                                         self.key("finished")], [self.prefix, self.worker]))

    def fail(self, error: dict[str, Any]) -> bool:
        """Record the crawl's failure; True for the one worker that records it."""
        return bool(self._run("fail", [self.key("done"), self.key("failed"),
                                       self.key("finished")],
                              [self.worker, json.dumps(error)]))

    def failure(self) -> dict[str, Any] | None:
        """The recorded failure (``message``, ``parts``), if any."""
        raw = self.redis.get(self.key("failed"))
        if raw is not None:
            value: dict[str, Any] = json.loads(raw)
            return value
        record = self.outcome()  # recorded, and the keys already cleaned up
        if record is None or record.get("status") != "failed":
            return None
        return {"message": record.get("error"), "parts": record.get("parts")}

    def outcome(self) -> dict[str, Any] | None:
        """How the crawl ended (``status``, ``documents``, ...), once it has."""
        raw = self.redis.get(self.key("finished"))
        value: dict[str, Any] | None = json.loads(raw) if raw is not None else None
        return value

    def publish_stats(self, stats: dict[str, Any]) -> None:
        """Make this worker's stats visible to the one finishing the snapshot."""
        self._run("publish", [self.key("stats"), self.key("finished")],
                  [self.worker, json.dumps(stats, default=str)])

    def committed_parts(self) -> set[str]:
        return {_text(p) for p in self.redis.smembers(self.key("committed"))}

    def counters(self) -> dict[str, int]:
        """The crawl-wide counters kept in Redis (``frontier/reaped``)."""
        return {_text(k): int(v) for k, v in self.redis.hgetall(self.key("counters")).items()}

    def worker_stats(self) -> dict[str, dict[str, Any]]:
        """Each worker's stats as of its last commit."""
        return {_text(w): json.loads(v) for w, v in self.redis.hgetall(self.key("stats")).items()}

    def close(self, outcome: dict[str, Any]) -> None:
        """Record the outcome, then delete the crawl's keys; the next crawl starts afresh."""
        self.redis.set(self.key("finished"), json.dumps(outcome), ex=FINISHED_TTL_S)
        keep = self.key("finished").encode()
        doomed = [k for k in self.redis.scan_iter(match=f"{self.prefix}:*", count=500)
                  if k != keep]
        for i in range(0, len(doomed), 500):
            self.redis.delete(*doomed[i : i + 500])
        self._run("del_eq", [self.pointer], [self.snapshot_id])

    @contextmanager
    def manifest_lock(self, timeout_s: float = 60.0) -> Iterator[None]:
        """Serialise manifest writes across workers."""
        key, token = self.key("manifest_lock"), uuid.uuid4().hex
        deadline = time.monotonic() + timeout_s
        while not self.redis.set(key, token, nx=True, px=int(timeout_s * 1000)):
            if time.monotonic() > deadline:
                raise ConfigError(f"{self.prefix}: could not take the manifest lock in Redis "
                                  f"within {timeout_s:.0f}s; check the other workers")
            time.sleep(0.05)
        try:
            yield
        finally:
            self._run("del_eq", [key], [token])

