"""The sign step of both sides: sign a stream of batches on the engine, write a side's files.

Each batch is signed in an engine job, which also builds the batch's band table (the
compiled kernels release the GIL, so local jobs run in threads side by side while the
calling thread reads and writes). Results come back in input order and are written to the
side's files (:class:`audit.files.SideFiles`): the doc table, texts, signatures (raw, and as
Parquet for a source), band table and anchors. A side's rows are numbered from 0 in stream
order; every file refers to documents by that row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from audit.config import AuditParams
from audit.engine import Engine, workers
from audit.files import (
    DocTableWriter,
    SideFiles,
    SignatureFile,
    TextFile,
    signature_array,
    signature_schema,
    write_signature_parquet,
)
from audit.index.anchors import AnchorWriter
from audit.index.bands import BandWriter, band_table
from audit.signing.contract import SignedBatch, Signer, shingle_positions

B = TypeVar("B")


@dataclass
class SignedRows:
    """One batch as a signing job returns it.

    Attributes:
        signed: the signer's output; its ``anchor_rows`` are side rows.
        bands: the band table of the batch's non-empty documents (side rows).
        seconds: time spent signing and banding.
    """

    signed: SignedBatch
    bands: pa.Table
    seconds: float


def _sign(signer: Signer, texts: pa.Array, base: int, bands: int, rows: int) -> SignedRows:
    """Sign one batch whose first document is side row ``base``."""
    t0 = time.perf_counter()
    signed = signer.sign_batch(texts)
    live = np.flatnonzero(signed.n_shingles > 0)
    table = band_table(live + base, signed.signatures[live], bands, rows)
    signed.anchor_rows += base
    return SignedRows(signed, table, time.perf_counter() - t0)


def sign_batches(batches: Iterable[B], texts: Callable[[B], pa.Array], signer: Signer,
                 params: AuditParams, engine: Engine) -> Iterator[tuple[B, SignedRows]]:
    """Each batch with its :class:`SignedRows`, in input order (``texts`` picks a batch's text
    column)."""
    bands, rows = params.doc_lsh

    def job(item: tuple[B, int]) -> SignedRows:
        return _sign(signer, texts(item[0]), item[1], bands, rows)

    def numbered() -> Iterator[tuple[B, int]]:
        base = 0
        for batch in batches:
            yield batch, base
            base += len(texts(batch))

    for (batch, _), signed in engine.map(job, numbered(), workers()):
        yield batch, signed


class SideWriter:
    """Writes one side's files batch by batch (see the module doc); closes them together.

    Args:
        files: where the files go.
        doc_schema: the doc table's schema (``row``, ``n_words`` and ``n_shingles`` are filled
            in here; the caller gives the other columns).
        params: the audit's layout (signature length, bands, shingles, anchor window).
        desc: the progress bar's label.
        progress: show the progress bar.
    """

    def __init__(self, files: SideFiles, doc_schema: pa.Schema, params: AuditParams,
                 desc: str, progress: bool) -> None:
        bands, rows = params.doc_lsh
        self.num_perm = params.num_perm
        self.ngram = params.ngram
        self.docs = DocTableWriter(files.docs, doc_schema)
        self.texts = TextFile(files.texts).writer()
        self.signatures = SignatureFile(files.signatures, params.num_perm).writer()
        self.signature_parquet = write_signature_parquet(files.signature_parquet, self.num_perm) \
            if files.signature_parquet is not None else None
        self.bands = BandWriter(files.bands, bands, rows)
        self.anchors = AnchorWriter(files.anchors, params.anchor_window)
        self.rows = 0
        self._bar = tqdm(desc=desc, unit="doc", disable=not progress)

    def add(self, columns: Mapping[str, Any], texts: pa.Array, signed: SignedRows) -> None:
        """Write the next batch: its doc-table ``columns``, its texts and its signing."""
        s = signed.signed
        n = len(s.n_words)
        rows = np.arange(self.rows, self.rows + n, dtype=np.int64)
        self.docs.add({**columns, "row": rows, "n_words": s.n_words, "n_shingles": s.n_shingles})
        self.texts.add(texts)
        self.signatures.add(s.signatures)
        if self.signature_parquet is not None:
            self.signature_parquet.write_table(pa.table(
                {"row": rows, "signature": signature_array(s.signatures)},
                schema=signature_schema(self.num_perm)))
        self.bands.add_table(signed.bands)
        self.anchors.add(s.anchor_rows, s.anchors,
                         shingle_positions(s.n_words[s.anchor_rows - self.rows], self.ngram))
        self.rows += n
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()
        self.docs.close()
        self.texts.close()
        self.signatures.close()
        if self.signature_parquet is not None:
            self.signature_parquet.close()
        self.anchors.close()
        self.bands.close()

    def __enter__(self) -> SideWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
