"""The scheduler with a fake clock and real crawls of the real test wiki (read-only here).

The clock is a variable the test moves; every crawl is a real ``pipelines.worker`` process
crawling the session MediaWiki; the audit re-run is a real audit.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.config import AuditConfig, RunOptions
from audit.run import run_audit
from commons.api import catalog
from commons.store import DataDir, SnapshotStore
from pipelines.exceptions import SourcesFileError
from pipelines.runs import RunLog, RunRecord, schedule_lock
from pipelines.scheduler import Scheduler
from pipelines.sources import load_sources
from tests.conftest import CONTACT, Wiki, run_cli


def sources_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(f"""
[defaults]
contact = "{CONTACT}"
delay = 0.0

[sources.nightly]
kind = "mediawiki"
url = "{url}"
schedule = "0 3 * * *"
audits = ["probe"]

[sources.halfhourly]
kind = "mediawiki"
url = "{url}"
schedule = "30 * * * *"
incremental = true
""")
    return path


class FakeClock:
    def __init__(self, now: str) -> None:
        self.set(now)

    def set(self, now: str) -> None:
        self.now = datetime.fromisoformat(now).replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_runs_what_is_due_one_at_a_time_and_records_it(wiki: Wiki, tmp_path: Path) -> None:
    path = sources_file(tmp_path, wiki.url)
    data = DataDir(tmp_path / "data")
    clock = FakeClock("2026-03-02T02:00:00")
    lines: list[str] = []
    sched = Scheduler(data, load_sources(path, frozenset({"mediawiki"})), clock=clock,
                      say=lines.append, sources_file=path)
    store, log = SnapshotStore(data), RunLog(data)

    # Never run: both are due for their last fire time, and run one after the other.
    first = sched.run_due()
    assert [(r.source, r.status, r.mode) for r in first] == [
        ("nightly", "complete", "full"), ("halfhourly", "complete", "full")]
    assert first[0].scheduled_for.startswith("2026-03-01T03:00:00")
    assert first[1].scheduled_for.startswith("2026-03-02T01:30:00")
    assert first[0].finished_at <= first[1].started_at  # type: ignore[operator]
    assert store.get("nightly", first[0].snapshot_id or "").status == "complete"
    assert sched.run_due() == []  # same time: nothing is due any more

    # An audit of the nightly source, to be re-run after its next snapshot.
    texts = [r[0] for r in catalog(data).connect().execute(
        "SELECT text FROM latest_documents WHERE source = 'nightly' AND text <> '' "
        "ORDER BY doc_id LIMIT 5").fetchall()]
    training = tmp_path / "train.parquet"
    pq.write_table(pa.table({"id": [f"t{i}" for i in range(len(texts))], "text": texts}),
                   training)
    run_audit(AuditConfig("probe", (str(training),), ("nightly",),
                          options=RunOptions(progress=False, signer="reference")), data)

    # 02:45: the half-hourly source is due (02:30), as an increment on its first snapshot.
    clock.set("2026-03-02T02:45:00")
    (second,) = sched.run_due()
    assert (second.source, second.status, second.mode) == ("halfhourly", "complete",
                                                           "incremental")
    assert store.get("halfhourly", second.snapshot_id or "").base_snapshot == \
        first[1].snapshot_id

    # 03:01: nightly is due, but another scheduler holds its lock: it is left alone.
    clock.set("2026-03-02T03:01:00")
    other = schedule_lock(data, "nightly")
    assert other.acquire()
    try:
        assert sched.run_due() == []
        assert any("another scheduled run holds its lock" in line for line in lines)
    finally:
        other.release()

    # A killed scheduler left a running record, and a killed crawl an unfinished snapshot
    # (a prefix of a complete one): the next run marks the first interrupted and resumes
    # the second, then re-runs the audit on the new snapshot.
    log.start(RunRecord("19990101T000000000000Z", "nightly", "mediawiki", wiki.url,
                        "0 3 * * *", "2026-03-01T03:00:00Z"))
    done = data.snapshot_dir("nightly", first[0].snapshot_id or "")
    killed = data.snapshot_dir("nightly", "20990101T000000Z")
    shutil.copytree(done, killed)
    manifest = json.loads((killed / "_manifest.json").read_text())
    manifest.update(snapshot_id="20990101T000000Z", status="running", finished_at=None,
                    started_at=datetime.now(UTC).isoformat())
    (killed / "_manifest.json").write_text(json.dumps(manifest))
    first_part, *later = sorted(killed.glob("part-*.parquet"))
    pq.write_table(pq.read_table(first_part).slice(0, 40), first_part)  # a durable prefix
    for part in later:
        part.unlink()
    (third,) = sched.run_due()
    assert (third.source, third.mode, third.status) == ("nightly", "resume", "complete")
    assert third.snapshot_id == "20990101T000000Z"
    resumed = store.get("nightly", "20990101T000000Z")
    assert resumed.status == "complete" and resumed.stats["resumes"] == 1
    assert resumed.stats["commons/resume_skipped"] >= 1  # the last durable title, refetched
    assert resumed.documents == store.get("nightly", first[0].snapshot_id or "").documents
    assert third.audits == [{"audit": "probe", "run": "probe.20990101T000000Z",
                             "status": "complete", "error": None}]
    statuses = {r.run_id: r.status for r in log.records("nightly")}
    assert statuses["19990101T000000000000Z"] == "interrupted"

    con = catalog(data).connect()
    assert con.execute("SELECT source, status, mode FROM crawl_runs ORDER BY started_at"
                       ).fetchall() == [
        ("nightly", "complete", "full"), ("halfhourly", "complete", "full"),
        ("halfhourly", "complete", "incremental"), ("nightly", "interrupted", None),
        ("nightly", "complete", "resume")]
    assert con.execute("SELECT status FROM audit_runs WHERE run = 'probe.20990101T000000Z'"
                       ).fetchall() == [("complete",)]

    # The CLI agrees: nothing due at 03:10, next fires named.
    status = run_cli("schedule", "status", "--sources", str(path), "--data", str(data.root),
                     "--now", "2026-03-02T03:10:00Z")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert "2026-03-03T03:00:00" in next(ln for ln in lines if ln.startswith("nightly"))
    assert "2026-03-02T03:30:00" in next(ln for ln in lines if ln.startswith("halfhourly"))
    quiet = run_cli("schedule", "run", "--sources", str(path), "--data", str(data.root),
                    "--now", "2026-03-02T03:10:00Z")
    assert quiet.returncode == 0 and "nothing due" in quiet.stderr


def test_a_failed_crawl_is_recorded_and_fails_the_command(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(f'[sources.gone]\nkind = "mediawiki"\nurl = "http://127.0.0.1:9/"\n'
                    f'schedule = "* * * * *"\ncontact = "{CONTACT}"\n')
    result = run_cli("schedule", "run", "--sources", str(path), "--data", str(tmp_path / "d"))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "1 of 1 scheduled runs failed" in last and "unreachable" in last
    (record,) = RunLog(DataDir(tmp_path / "d")).records("gone")
    assert record.status == "failed" and "127.0.0.1:9" in (record.error or "")
    assert record.finished_at is not None


@pytest.mark.parametrize(("body", "expected"), [
    ("", "no [sources.NAME] tables"),
    ('[sources.a]\nkind = "mediawiki"\nurl = "https://w.example"\nschedule = "every day"\n'
     'contact = "a@b.org"\n', "[sources.a] schedule: 'every day' is not a cron expression"),
    ('[sources.a]\nkind = "wiki"\nurl = "https://w.example"\nschedule = "0 3 * * *"\n'
     'contact = "a@b.org"\n', "[sources.a] kind: unknown kind 'wiki'"),
    ('[sources.a]\nkind = "mediawiki"\nurl = "https://w.example"\nschedule = "0 3 * * *"\n',
     "[sources.a] contact: missing"),
    ('[sources.a]\nkind = "mediawiki"\nurl = "w.example"\nschedule = "0 3 * * *"\n'
     'contact = "a@b.org"\n', "[sources.a] url: 'w.example' is not usable"),
    ('[sources.a]\nkind = "mediawiki"\nurl = "https://w.example"\nschedule = "0 3 * * *"\n'
     'contact = "a@b.org"\ncron = "x"\n', "[sources.a] cron: unknown key"),
    ("[sources\n", "not a readable TOML file"),
])
def test_sources_file_errors_name_file_and_key(tmp_path: Path, body: str,
                                               expected: str) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(body)
    with pytest.raises(SourcesFileError) as caught:
        load_sources(path, frozenset({"mediawiki"}))
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)


def test_sources_file_error_is_one_line_on_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[sources.a]\nkind = "mediawiki"\n')
    result = run_cli("schedule", "status", "--sources", str(path), "--data", str(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: [sources.a] url: missing"), line


def test_the_example_sources_file_is_valid() -> None:
    from pipelines.cli import crawl_kinds

    root = Path(__file__).resolve().parents[2]
    specs = load_sources(root / "pipelines" / "sources.example.toml", crawl_kinds())
    assert specs and all(s.contact for s in specs)
