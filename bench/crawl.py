"""Crawler overhead: CPU and peak memory of ``commons crawl mediawiki`` per wiki page.

A real MediaWiki (``tests.harness.mediawiki``: Debian's package on SQLite, ``php -S`` on
127.0.0.1) is seeded with prose pages; the crawl runs in its own process with politeness
delays off (``DOWNLOAD_DELAY=0``, AutoThrottle off: for this benchmark only), and its own
CPU time (parsing, text extraction, Parquet writing; not the wiki's) is divided by the
pages crawled. Two wiki sizes show whether memory stays flat as the wiki grows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONTACT = "bench@example.org"


def crawl_job(url: str, data: str) -> dict[str, Any]:
    """Run the MediaWiki crawl in this process (called by ``bench.child``)."""
    from crawler.runner import run_crawl

    settings = {"COMMONS_DATA": data, "LOG_LEVEL": "CRITICAL", "COMMONS_PROGRESS": False,
                "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
                "RANDOMIZE_DOWNLOAD_DELAY": False}
    args = {"url": url, "source": "benchcrawl", "contact": CONTACT, "namespaces": [0],
            "limit": None, "incremental": False, "resume": False}
    result = run_crawl("mediawiki", args, settings)
    return {"documents": result.documents, "status": result.status}


def crawl_overhead(work: Path, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Seed a wiki of each size, crawl it in a child process, report CPU and memory."""
    import shutil
    import time

    from bench.jobs import child
    from tests.harness.mediawiki import MediaWikiServer, ensure_mediawiki_installed

    ensure_mediawiki_installed()
    rows = []
    for n in sizes:
        root = work / f"wiki-{n}"
        shutil.rmtree(root, ignore_errors=True)
        server = MediaWikiServer(root / "wiki")
        server.start()
        try:
            t0 = time.perf_counter()
            server.seed_default(n, seed=5)
            seeded = time.perf_counter() - t0
            r = child("crawl", server.url, str(root / "data"))
        finally:
            server.stop()
        docs = max(1, int(r["documents"]))
        rows.append({"pages": n, "documents": r["documents"], "status": r["status"],
                     "seconds": r["seconds"], "cpu_seconds": r["cpu"],
                     "cpu_ms_per_page": r["cpu"] / docs * 1000, "peak_rss_mb": r["peak_rss_mb"],
                     "seed_seconds": seeded})
        shutil.rmtree(root, ignore_errors=True)
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        marginal = (b["cpu_seconds"] - a["cpu_seconds"]) / max(1, b["documents"] - a["documents"])
        for r in rows:
            r["marginal_cpu_ms_per_page"] = marginal * 1000
    return rows
