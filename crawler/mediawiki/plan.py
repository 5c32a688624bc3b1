"""What a MediaWiki crawl fetches, decided before it starts: full, resumed or incremental."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow.parquet as pq

from commons.exceptions import ConfigError, NoCompleteSnapshotError
from commons.store import SnapshotManifest, SnapshotStore
from crawler.mediawiki.pages import dbkey
from crawler.mediawiki.recentchanges import IncrementalPlan

logger = logging.getLogger(__name__)


class MediaWikiPlan:
    """The plan of one MediaWiki crawl, and an increment's fall-back to a full crawl.

    A full crawl reads ``namespaces`` in order; a resumed one starts after the last durable
    title of the namespace the killed crawl was in. An increment refetches what ``changes``
    lists, on the source's snapshot chain ending at ``base_snapshot``. ``parameters`` (the
    spider's, recorded in the manifest) say which it is and why.
    """

    def __init__(self, namespaces: list[int], incremental: bool,
                 parameters: dict[str, Any]) -> None:
        self.namespaces = namespaces
        self.incremental = incremental
        self.parameters = parameters
        #: Where a resumed crawl starts in a namespace (``gapfrom``).
        self.resume_from: dict[int, str] = {}
        #: Documents already durable in the resumed snapshot.
        self.durable = 0
        self.base_snapshot: str | None = None
        self.changes: IncrementalPlan | None = None
        #: The wiki's ``server`` when the base chain started (an increment needs the same).
        self.base_server: str | None = None

    def prepare(self, store: SnapshotStore, source: str, resumed: SnapshotManifest | None,
                margin_s: float) -> None:
        """Continue the unfinished snapshot ``resumed``, or build on the snapshot chain.

        Args:
            margin_s: seconds of recent changes re-read before the base's start.

        Raises:
            ConfigError: ``resumed`` cannot be continued by this crawl.
        """
        if resumed is not None and resumed.parameters.get("frontier"):
            raise ConfigError(
                f"snapshot {source}/{resumed.snapshot_id} is a distributed crawl: continue "
                "it by starting workers with the same --frontier, not with --resume")
        if resumed is not None and resumed.base_snapshot:
            # An unfinished increment: same base, same rcstart; durable documents are skipped.
            rcstart = resumed.parameters.get("rcstart")
            if not rcstart:
                raise ConfigError(f"snapshot {source}/{resumed.snapshot_id} records no "
                                  "rcstart; start a new crawl without --resume")
            self.incremental = True
            self._on_chain(store, store.chain(source, resumed.base_snapshot), str(rcstart))
        elif resumed is not None:
            self.incremental = False
            self._after_durable_titles(store, source, resumed)
        elif self.incremental:
            try:
                chain = store.latest_chain(source)
            except NoCompleteSnapshotError:
                self.fall_back("no complete snapshot of this source to build on")
                return
            first = chain[0].parameters
            if first.get("limit") or sorted(first.get("namespaces") or [0]) != sorted(
                    self.namespaces):
                self.fall_back(f"the base chain starts with {chain[0].snapshot_id}, a crawl "
                               "of other namespaces or with --limit")
                return
            self._on_chain(store, chain, IncrementalPlan.start_for(chain[-1], margin_s))
        self.parameters["mode"] = "incremental" if self.incremental else "full"

    def _on_chain(self, store: SnapshotStore, chain: list[SnapshotManifest],
                  rcstart: str) -> None:
        self.base_snapshot = chain[-1].snapshot_id
        self.base_server = chain[0].site.get("server")
        self.changes = IncrementalPlan.load(store, chain, rcstart, self.namespaces)
        self.parameters.update({"base_snapshot": self.base_snapshot, "rcstart": rcstart})

    def fall_back(self, reason: str) -> None:
        """Make this incremental crawl a full one, and say why in the manifest."""
        logger.warning("incremental crawl falls back to a full crawl: %s", reason)
        self.incremental = False
        self.base_snapshot = None
        self.changes = None
        self.parameters.update({"mode": "full", "incremental_fallback": reason})
        self.parameters.pop("base_snapshot", None)
        self.parameters.pop("rcstart", None)

    def _after_durable_titles(self, store: SnapshotStore, source: str,
                              resumed: SnapshotManifest) -> None:
        """Continue after the last durable title of the namespace the killed crawl was in."""
        last: dict[int, str] = {}
        count = 0
        for part in store.part_files(source, resumed.snapshot_id):
            table = pq.read_table(part, columns=["namespace", "title"])
            count += table.num_rows
            for ns, title in zip(table.column("namespace").to_pylist(),
                                 table.column("title").to_pylist(), strict=True):
                key = dbkey(title or "", ns)
                if ns is not None and key > last.get(ns, ""):
                    last[ns] = key
        # Namespaces are crawled in order: one with documents means all before it are done.
        done = [ns for ns in self.namespaces if ns in last]
        if done:
            current = done[-1]
            self.namespaces = self.namespaces[self.namespaces.index(current):]
            self.resume_from = {current: last[current]}
        self.durable = count
        self.parameters["resumed_after"] = {str(k): v for k, v in self.resume_from.items()}

    def next_namespace(self) -> tuple[int, dict[str, Any]] | None:
        """The next namespace to read and where to start in it; None after the last."""
        if not self.namespaces:
            return None
        namespace = self.namespaces.pop(0)
        start = self.resume_from.pop(namespace, None)
        return namespace, {"gapfrom": start} if start else {}
