"""`make demo`: crawl a local MediaWiki, audit a sample training set against it, report.

Everything runs on local data: a real MediaWiki (Debian's package, SQLite) on 127.0.0.1,
seeded with real prose from Debian's documentation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(*args: str) -> None:
    print("$ " + " ".join(args), flush=True)
    subprocess.run(args, check=True, cwd=ROOT)


def start_wiki(workdir: Path, pages: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.mediawiki", "serve", "--workdir", str(workdir),
         "--pages", str(pages)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    for line in proc.stdout:
        if line.startswith("READY "):
            return proc, line.split()[1]
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise SystemExit("error: the demo wiki did not start; see the output above")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=ROOT / "demo-data")
    parser.add_argument("--pages", type=int, default=150)
    args = parser.parse_args()
    workdir: Path = args.workdir.resolve()
    data = workdir / "data"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    commons = str(BIN / "commons")
    print(f"starting a local MediaWiki with {args.pages} pages ...", flush=True)
    proc, url = start_wiki(workdir / "wiki", args.pages)
    try:
        run(commons, "crawl", "mediawiki", url, "--source", "demowiki",
            "--contact", "demo@localhost.localdomain", "--delay", "0", "--data", str(data))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    run(commons, "snapshots", "--data", str(data))
    run(commons, "sql", "--data", str(data),
        "SELECT source, snapshot_id, license, count(*) AS documents, "
        "count(*) FILTER (WHERE is_redirect) AS redirects, sum(n_words) AS words, "
        "count(DISTINCT a) AS contributors "
        "FROM latest_documents, unnest(authors) AS t(a) GROUP BY ALL")
    demo_training = ROOT / "scripts" / "make_demo_training_set.py"
    if demo_training.exists():
        training = workdir / "training.parquet"
        run(sys.executable, str(demo_training), "--snapshot-source", "demowiki",
            "--data", str(data), "--out", str(training), "--seed", "7")
        run(commons, "audit", str(training), "--text-column", "text", "--id-column", "id",
            "--sources", "demowiki", "--run-name", "demo", "--data", str(data))
    print(f"demo data store: {data}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
