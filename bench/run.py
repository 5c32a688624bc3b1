"""``make bench``: our signature path and its peers in one run, then the audit end to end.

    python -m bench.run [--size 100000] [--workdir bench-data] [--out FILE.json]
                        [--skip-peers] [--skip-e2e] [--memory-cap 256MB] [--repeat 3]

* **signatures**: a seeded corpus of ``--size`` ~550-word documents with planted near-
  duplicates (:mod:`bench.corpus`), signed end to end from Parquet by each method of
  :mod:`bench.peers` in its own process, ``--repeat`` times (the median run is reported;
  slow peers on a prefix, see their caps; datatrove in its own venv): docs/s,
  ratio to ours, peak memory, recall and precision of the planted duplicates at 0.8.
* **index**: band index build and query over our signatures (half as source, half as
  training): signatures/s.
* **end to end**: ``commons audit`` of ``--size`` training documents against a source
  snapshot of ``--size`` pages (planted near-duplicates, truncations, embedded passages),
  in its own process: wall time, CPU, peak RSS, recall of each planted kind and matches of
  unrelated documents; at ``--size >= 200000`` also under ``--memory-cap`` (smaller than
  the index, so DuckDB spills), both again at a tenth of the size (scaling), and the
  source side alone from cold (signing and index files of one source).

Every figure is written to the JSON file with the library versions, the machine and its
load average before and after, so runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from audit.config import RunOptions
from bench.accuracy import accuracy
from bench.data import SOURCE, write_audit_corpus, write_dedup_corpus
from bench.jobs import child, external
from bench.peers import THRESHOLD, methods

#: The audit's default DuckDB memory limit (what `commons audit` uses without --memory-limit).
DEFAULT_LIMIT = RunOptions().memory_limit
LIBRARIES = ("datasketch", "rensa", "datatrove", "numba", "llvmlite", "numpy", "pyarrow",
             "duckdb", "xxhash")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                               / 2**30, 1)}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def signatures(work: Path, size: int, skip_peers: bool, max_peer_docs: int | None,
               repeat: int = 3) -> tuple[list[dict[str, Any]], Path]:
    """Each method ``repeat`` times, each run in a fresh process; figures of the median run."""
    corpus = work / f"corpus-{size}.parquet"
    pairs_path = work / f"corpus-{size}.pairs.npy"
    if not corpus.exists() or not pairs_path.exists():
        print(f"writing the signature corpus ({size} documents) ...", flush=True)
        np.save(pairs_path, write_dedup_corpus(corpus, size, seed=7))
    pairs = np.load(pairs_path)
    texts = pq.read_table(corpus, columns=["text"]).column(0)
    rows: list[dict[str, Any]] = []
    ours_sigs = work / "sigs-ours.npy"
    for m in methods():
        if skip_peers and m.library != "commons-provenance":
            continue
        limit = min(size, m.cap)
        if max_peer_docs is not None and m.library != "commons-provenance":
            limit = min(limit, max_peer_docs)
        out = ours_sigs if m.name == "ours (1 core)" else work / "sigs-peer.npy"
        print(f"signing: {m.name} on {limit} documents (x{repeat}) ...", flush=True)
        try:
            runs = [external(m.python, str(corpus), str(limit), str(out))
                    if m.python is not None
                    else child("signature", m.name, str(corpus), str(limit), str(out))
                    for _ in range(repeat)]
        except RuntimeError as exc:
            rows.append({"method": m.name, "error": str(exc)})
            continue
        r = sorted(runs, key=lambda run: float(run["seconds"]))[len(runs) // 2]  # the median
        sigs = np.load(out)
        acc = accuracy(sigs, m.layout, texts.slice(0, len(sigs)), pairs, THRESHOLD)
        rows.append({"method": m.name, "library": m.library, "docs": r["docs"],
                     "seconds": round(r["seconds"], 3), "docs_per_s": r["docs"] / r["seconds"],
                     "runs_seconds": [round(run["seconds"], 3) for run in runs],
                     "cpu_seconds": r["cpu"],
                     "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
                     "true_pairs": acc.true_pairs, "recall": acc.recall,
                     "precision": acc.precision, "layout": list(m.layout),
                     **({"version": r["version"]} if "version" in r else {})})
    base = next((r["docs_per_s"] for r in rows if r.get("method") == "ours (1 core)"), None)
    for r in rows:
        if base and "docs_per_s" in r:
            r["ours_1core_speedup"] = base / r["docs_per_s"]
    return rows, ours_sigs


def index(work: Path, sigs: Path) -> dict[str, Any]:
    print("band index build and query ...", flush=True)
    r = child("index", str(sigs), "1GB", str(work / "index-tmp"))
    shutil.rmtree(work / "index-tmp", ignore_errors=True)
    r["signatures_per_s"] = r["signatures"] / r["seconds"]
    return r


def _recall(run_dir: Path, kind: np.ndarray) -> dict[str, Any]:
    m = pq.read_table(run_dir / "matches.parquet", columns=["train_id"]).column(0)
    matched = np.zeros(len(kind), dtype=bool)
    ids = np.array([int(t.split("-")[1]) for t in m.to_pylist()], dtype=np.int64)
    matched[ids] = True
    from bench.corpus import KINDS

    out: dict[str, Any] = {}
    for k, name in enumerate(KINDS):
        sel = kind == k
        if name == "unrelated":
            out["unrelated_matched"] = int(matched[sel].sum())
        else:
            out[f"recall_{name}"] = float(matched[sel].mean()) if sel.any() else None
    return out


def end_to_end(work: Path, size: int, memory_limit: str, tag: str) -> dict[str, Any]:
    root = work / f"audit-{size}"
    if not (root / "kind.npy").exists():
        print(f"writing the audit corpus ({size} + {size} documents) ...", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        _, _, kind, origin = write_audit_corpus(root, size, seed=11)
        np.save(root / "kind.npy", kind)
        np.save(root / "origin.npy", origin)
    data = root / "data"
    shutil.rmtree(data / "signatures", ignore_errors=True)  # measure a cold source side
    shutil.rmtree(data / "audits", ignore_errors=True)
    print(f"commons audit: {size} x {size} documents ({tag}, memory limit {memory_limit}) ...",
          flush=True)
    r = child("audit", str(root / "train"), "--sources", SOURCE, "--run-name", "bench",
              "--data", str(data), "--memory-limit", memory_limit, "-q", "--keep-work")
    run_dir = data / "audits" / "bench"
    meta = json.loads((run_dir / "run.json").read_text())
    work_dir = run_dir / "work"
    cache = Path(meta["snapshots"][0]["signature_cache"])
    index_files = [*work_dir.rglob("*bands.parquet"), *work_dir.glob("train_anchors/*"),
                   *cache.glob("doc_bands-*.parquet"), *cache.glob("anchors/*")]
    index_bytes = sum(p.stat().st_size for p in index_files)
    out = {"size": size, "tag": tag, "memory_limit": memory_limit, "status": meta["status"],
           "seconds": r["seconds"], "cpu_seconds": r["cpu"], "peak_rss_mb": r["peak_rss_mb"],
           "us_per_train_doc": r["seconds"] / size * 1e6, "timings": meta["timings"],
           "index_bytes": index_bytes, "candidates": meta["summary"][0]["candidates"],
           **_recall(run_dir, np.load(root / "kind.npy"))}
    shutil.rmtree(work_dir, ignore_errors=True)
    return out


def scaling(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    """Time per document and peak memory of ``large`` relative to ``small``."""
    return {"small": small["size"], "large": large["size"],
            "memory_limit": large["memory_limit"],
            "time_per_doc_ratio": large["us_per_train_doc"] / small["us_per_train_doc"],
            "memory_ratio": large["peak_rss_mb"] / small["peak_rss_mb"]}


def source_index(work: Path, size: int) -> dict[str, Any]:
    """Signing and indexing one source of ``size`` pages from cold, in its own process."""
    data = work / f"audit-{size}" / "data"
    shutil.rmtree(data / "signatures", ignore_errors=True)
    print(f"source index: {size} pages ...", flush=True)
    r = child("source", str(data), SOURCE, "1GB")
    return {"documents": size, "seconds": r["seconds"], "cpu_seconds": r["cpu"],
            "peak_rss_mb": r["peak_rss_mb"], "docs_per_s": size / r["seconds"]}


def print_tables(result: dict[str, Any]) -> None:
    sig = result.get("signatures", [])
    if sig:
        print("\nsignatures (128 permutations, 5-grams, end to end from Parquet)")
        print(f"{'method':26s} {'docs':>8s} {'docs/s':>10s} {'ours x':>7s} {'peak MB':>8s} "
              f"{'recall':>7s} {'precision':>9s}")
        for r in sig:
            if "error" in r:
                print(f"{r['method']:26s} not run: {r['error'][-70:]}")
                continue
            print(f"{r['method']:26s} {r['docs']:8d} {r['docs_per_s']:10,.0f} "
                  f"{r.get('ours_1core_speedup', float('nan')):7.2f} {r['peak_rss_mb']:8.0f} "
                  f"{r['recall']:7.3f} {r['precision']:9.3f}")
    if "index" in result:
        i = result["index"]
        print(f"\nband index: {i['signatures']} signatures built and joined in "
              f"{i['seconds']:.2f} s = {i['signatures_per_s']:,.0f} signatures/s, "
              f"peak {i['peak_rss_mb']:.0f} MB")
    for e in result.get("end_to_end", []):
        print(f"\naudit {e['size']} x {e['size']} ({e['tag']}, limit {e['memory_limit']}): "
              f"{e['status']} in {e['seconds']:.1f} s ({e['us_per_train_doc']:.0f} us/doc, "
              f"CPU {e['cpu_seconds']:.0f} s), peak RSS {e['peak_rss_mb']:.0f} MB, index "
              f"{e['index_bytes'] / 2**20:.0f} MB; recall near-dup "
              f"{e['recall_near_duplicate']:.3f}, truncation {e['recall_truncation']:.3f}, "
              f"embedded {e['recall_embedded']:.3f}; unrelated matched "
              f"{e['unrelated_matched']}")
        print(f"  stages: {e['timings']}")
    for s in result.get("scaling", []):
        print(f"\nscaling {s['small']} -> {s['large']} (limit {s['memory_limit']}): time/doc "
              f"x{s['time_per_doc_ratio']:.2f}, peak memory x{s['memory_ratio']:.2f}")
    if "source_index" in result:
        i = result["source_index"]
        print(f"\nsource index of {i['documents']} pages from cold: {i['seconds']:.1f} s "
              f"({i['docs_per_s']:,.0f} docs/s), peak RSS {i['peak_rss_mb']:.0f} MB")
    for c in result.get("crawl", []):
        print(f"\ncrawl of a {c['pages']}-page wiki: {c['documents']} documents, {c['status']}, "
              f"{c['seconds']:.1f} s, crawler CPU {c['cpu_ms_per_page']:.1f} ms/page "
              f"(marginal {c.get('marginal_cpu_ms_per_page', float('nan')):.1f} ms/page), "
              f"peak RSS {c['peak_rss_mb']:.0f} MB")
    print(f"\nload average before {result['load_before']}, after {result['load_after']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="documents per corpus")
    parser.add_argument("--workdir", type=Path, default=Path("bench-data"),
                        help="where corpora and intermediate files go (reused across runs)")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument("--skip-peers", action="store_true", help="only our signature path")
    parser.add_argument("--skip-e2e", action="store_true", help="no end-to-end audit")
    parser.add_argument("--memory-cap", default="256MB",
                        help="DuckDB memory limit of the capped run (below the index size)")
    parser.add_argument("--crawl", default="",
                        help="wiki sizes for the crawler overhead benchmark, e.g. 200,800 "
                             "(needs the Debian mediawiki package; off by default)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each signature method (the median is reported)")
    parser.add_argument("--max-peer-docs", type=int, default=None,
                        help="cap every peer's documents (for a quick run)")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    result: dict[str, Any] = {"started": started.isoformat(), "size": args.size,
                              "repeat": args.repeat,
                              "machine": machine(), "versions": versions(),
                              "load_before": load()}
    t0 = time.perf_counter()
    result["signatures"], ours = signatures(args.workdir, args.size, args.skip_peers,
                                            args.max_peer_docs, args.repeat)
    for row in result["signatures"]:  # a peer timed in its own venv reports its version
        if "version" in row:
            result["versions"][row["library"]] = row["version"]
    result["index"] = index(args.workdir, ours)
    if not args.skip_e2e:
        runs = [end_to_end(args.workdir, args.size, DEFAULT_LIMIT, "default")]
        if args.size >= 200_000:
            small = args.size // 10
            runs.append(end_to_end(args.workdir, args.size, args.memory_cap, "memory cap"))
            runs.append(end_to_end(args.workdir, small, DEFAULT_LIMIT, "scaling base"))
            runs.append(end_to_end(args.workdir, small, args.memory_cap, "scaling base, cap"))
            result["scaling"] = [scaling(runs[2], runs[0]), scaling(runs[3], runs[1])]
            result["source_index"] = source_index(args.workdir, args.size)
        result["end_to_end"] = runs
    if args.crawl:
        from bench.crawl import crawl_overhead

        sizes = tuple(int(x) for x in args.crawl.split(",") if x.strip())
        result["crawl"] = crawl_overhead(args.workdir, sizes)
    result["seconds"] = time.perf_counter() - t0
    result["load_after"] = load()
    out = args.out or args.workdir / f"results-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2, default=float))
    print_tables(result)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
