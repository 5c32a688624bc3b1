"""`make demo`: crawl a local MediaWiki and a local forum, audit a sample training set, report.

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


def start_forum(workdir: Path, threads: int) -> tuple[subprocess.Popen[str], str]:
    """A real django-spirit forum (tests/harness/spirit.py) seeded with ``threads`` topics."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.harness.spirit", "serve", "--workdir", str(workdir),
         "--threads", str(threads)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("READY "):
            return proc, line.split()[1]
    proc.wait(timeout=30)
    raise SystemExit("error: the demo forum did not start; see the output above")


def compare_with_truth(data: Path, truth_path: Path) -> None:
    """Print the demo audit's estimates next to the planted truth."""
    import json

    import duckdb

    truth = json.loads(truth_path.read_text())
    row = duckdb.connect().execute(
        "SELECT train_doc_share, train_doc_share_low, train_doc_share_high, "
        "train_word_share, train_word_share_low, train_word_share_high, "
        "source_doc_share, source_doc_share_low, source_doc_share_high, "
        "source_word_share, source_word_share_low, source_word_share_high "
        f"FROM read_parquet('{data / 'audits' / 'demo' / 'summary.parquet'}') "
        "WHERE source = 'demowiki'").fetchall()[0]
    print("\nestimated vs planted truth (run 'demo', source 'demowiki'):")
    for i, key in enumerate(("train_doc_share", "train_word_share", "source_doc_share",
                             "source_word_share")):
        est, low, high = row[3 * i : 3 * i + 3]
        print(f"  {key:18} estimate {est:.4f}  95% CI [{low:.4f}, {high:.4f}]  "
              f"truth {truth[key]:.4f}  {'inside' if low <= truth[key] <= high else 'OUTSIDE'}",
              flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=ROOT / "demo-data")
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--forum-threads", type=int, default=36)
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
    print(f"starting a local django-spirit forum with {args.forum_threads} threads ...",
          flush=True)
    forum_proc, forum_url = start_forum(workdir / "forum", args.forum_threads)
    try:
        run(commons, "crawl", "forum", forum_url, "--source", "demoforum", "--preset", "spirit",
            "--contact", "demo@localhost.localdomain", "--delay", "0", "--data", str(data))
    finally:
        os.killpg(forum_proc.pid, signal.SIGTERM)
        forum_proc.wait(timeout=30)
    run(commons, "snapshots", "--data", str(data))
    run(commons, "sql", "--data", str(data),
        "SELECT source, count(*) AS threads, sum(n_words) AS words, "
        "max(len(authors)) AS max_authors FROM threads GROUP BY 1")
    run(commons, "sql", "--data", str(data),
        "SELECT source, snapshot_id, any_value(license) AS license, count(*) AS documents, "
        "count(*) FILTER (WHERE is_redirect) AS redirects, sum(n_words) AS words, "
        "len(list_distinct(flatten(list(authors)))) AS contributors "
        "FROM latest_documents GROUP BY 1, 2 ORDER BY 1")
    training = workdir / "training.parquet"
    run(sys.executable, str(ROOT / "scripts" / "make_demo_training_set.py"),
        "--snapshot-source", "demowiki", "--data", str(data), "--out", str(training),
        "--seed", "7")
    run(commons, "audit", str(training), "--text-column", "text", "--id-column", "id",
        "--sources", "demowiki,demoforum", "--run-name", "demo", "--data", str(data))
    compare_with_truth(data, training.with_name(training.name + ".truth.json"))
    print(f"demo data store: {data}", flush=True)
    if (data / "audits" / "demo" / "run.json").exists():
        report = workdir / "report"
        run(commons, "report", "demo", "--out", str(report), "--data", str(data))
        print(f"report: {report / 'index.html'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
