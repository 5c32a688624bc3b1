"""One measured job per process, so each gets its own peak memory (``ru_maxrss``).

``python -m bench.child JOB ARGS...`` prints one JSON line: ``seconds`` (wall), ``cpu``
(user + system seconds), ``peak_rss_mb`` and the job's own figures.

Jobs:
* ``signature NAME PARQUET LIMIT OUT.npy``: one method of :mod:`bench.peers`.
* ``audit ARGS...``: ``commons audit ARGS...`` in this process.
* ``source DATA SOURCE MEMORY_LIMIT``: sign and index one source (the source-side cache).
* ``index SIGS.npy MEMORY_LIMIT TMP``: band index build and query over signatures.
* ``crawl URL DATA``: a MediaWiki crawl with politeness delays off (:mod:`bench.crawl`).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np


def _usage() -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of this process image.

    The peak is ``VmHWM`` of /proc/self/status: ``ru_maxrss`` would also count the parent's
    memory at fork time, which Linux carries across ``exec``.
    """
    ru = resource.getrusage(resource.RUSAGE_SELF)
    peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return ru.ru_utime + ru.ru_stime, peak


def _signature(name: str, path: str, limit: str, out: str) -> dict[str, Any]:
    from bench.peers import methods

    method = next(m for m in methods() if m.name == name)
    if method.sign is None:
        raise SystemExit(f"{name} runs in its own venv (bench.datatrove_job), not here")
    if method.library == "commons-provenance":
        from audit.kernels import warm_up

        warm_up()
    t0 = time.perf_counter()
    sigs = method.sign(Path(path), int(limit))
    seconds = time.perf_counter() - t0
    np.save(out, sigs)
    return {"docs": len(sigs), "seconds": seconds}


def _audit(args: list[str]) -> dict[str, Any]:
    from audit.kernels import warm_up
    from commons.cli import main

    warm_up()
    t0 = time.perf_counter()
    code = main(["audit", *args])
    return {"exit": code, "seconds": time.perf_counter() - t0}


def _source(data: str, source: str, memory_limit: str) -> dict[str, Any]:
    from audit.config import AuditParams, RunOptions
    from audit.kernels import warm_up
    from audit.sign.source import prepare_source
    from audit.signing.factory import make_signer
    from commons.store import DataDir

    warm_up()
    params = AuditParams()
    options = RunOptions(memory_limit=memory_limit, progress=False)
    t0 = time.perf_counter()
    side = prepare_source(params, options, DataDir(data), source, make_signer(params))
    signed = time.perf_counter() - t0
    return {"seconds": signed, "counts": side.counts}


def _index(sigs_path: str, memory_limit: str, tmp: str) -> dict[str, Any]:
    from audit.config import lsh_params
    from audit.index.bands import BandWriter
    from audit.index.join import JoinSettings, band_join, connect
    from audit.kernels import warm_up

    warm_up()  # as in an audit, the kernels are loaded before the index is built
    sigs = np.load(sigs_path)
    half = len(sigs) // 2
    bands, rows = lsh_params(0.8, sigs.shape[1])
    work = Path(tmp)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def build(name: str, part: np.ndarray, base: int) -> Path:
        writer = BandWriter(work / f"{name}.parquet", bands, rows)
        for lo in range(0, len(part), 100_000):
            writer.add(np.arange(lo, min(lo + 100_000, len(part)), dtype=np.int64) + base,
                       part[lo : lo + 100_000])
        writer.close()
        return writer.path

    with ThreadPoolExecutor(2) as pool:  # one side per core; the kernels release the GIL
        paths = list(pool.map(build, ("s", "t"), (sigs[:half], sigs[half:]), (0, half)))
    built = time.perf_counter() - t0
    con = connect(JoinSettings(memory_limit, work / "spill"))
    pairs = band_join(con, paths[1], paths[0], work / "pairs.parquet")
    return {"signatures": len(sigs), "build_seconds": built,
            "seconds": time.perf_counter() - t0, "pairs": pairs}


def _crawl(url: str, data: str) -> dict[str, Any]:
    from bench.crawl import crawl_job

    t0 = time.perf_counter()
    result = crawl_job(url, data)
    return {**result, "seconds": time.perf_counter() - t0}


def main(argv: list[str]) -> int:
    job, args = argv[0], argv[1:]
    jobs = {"signature": lambda: _signature(*args), "audit": lambda: _audit(args),
            "source": lambda: _source(*args), "index": lambda: _index(*args),
            "crawl": lambda: _crawl(*args)}
    cpu0, _ = _usage()
    result = jobs[job]()
    cpu, peak = _usage()
    print(json.dumps({**result, "cpu": round(cpu - cpu0, 3), "peak_rss_mb": round(peak, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
