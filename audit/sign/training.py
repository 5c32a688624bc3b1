"""The training side: read and sign the training set in one streaming pass into ``work/``.

Reading and signing are one pass over the data, so no text is decoded twice: each batch of
the read stage (:mod:`audit.read.training`) is signed in an engine job and written by the
sign step (:mod:`audit.sign.writer`) to ``work/``:

* ``train_docs.arrow`` (row, id, n_words, n_shingles), memory-mapped later;
* ``train_texts.bin`` (+ ``.offsets``): the texts, read back by row;
* ``train_signatures.u32``: raw ``uint32[n, num_perm]`` signatures;
* ``train_doc_bands.parquet``: LSH band keys of the non-empty documents;
* ``train_anchors/``: (row, h, short) winnowing anchors (the containment index).

Null, non-string and empty texts (no shingles after normalisation) are counted; they are
kept as rows with ``n_shingles = 0`` and never indexed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.config import AuditConfig
from audit.engine import Engine, LocalEngine, workers
from audit.exceptions import EmptyTrainingSetError
from audit.files import TRAIN_DOC_SCHEMA, SideFiles
from audit.read.inputs import InputFile
from audit.read.training import ReadStats, training_batches
from audit.sign.writer import SideWriter, sign_batches
from audit.signing.contract import Signer


def training_files(work: Path) -> SideFiles:
    """The training side's files in a run's ``work/`` folder."""
    return SideFiles(docs=work / "train_docs.arrow", texts=work / "train_texts.bin",
                     signatures=work / "train_signatures.u32",
                     bands=work / "train_doc_bands.parquet", anchors=work / "train_anchors")


@dataclass
class SignStats:
    """What signing produced."""

    documents: int = 0
    anchors: int = 0
    doc_band_rows: int = 0
    seconds: float = 0.0
    workers: int = 1


@dataclass(frozen=True)
class TrainingSide:
    """The signed training set: its files and what reading and signing it counted."""

    files: SideFiles
    read: ReadStats
    sign: SignStats


def sign_training(config: AuditConfig, files: list[InputFile], work: Path, signer: Signer,
                  engine: Engine | None = None) -> TrainingSide:
    """Read, sign and write the training side (see the module doc).

    Raises:
        EmptyTrainingSetError: no row has text with at least one word.
    """
    stats = ReadStats()
    sign = SignStats(workers=workers())
    side = training_files(work)
    batches = training_batches(files, config, stats)
    with SideWriter(side, TRAIN_DOC_SCHEMA, config.params, "read and sign training set",
                    config.options.progress) as out:
        for batch, job in sign_batches(batches, lambda b: b.texts, signer, config.params,
                                       engine or LocalEngine()):
            out.add({"id": batch.ids}, batch.texts, job)
            stats.null_texts += batch.texts.null_count - batch.non_strings
            stats.non_string_texts += batch.non_strings
            stats.empty_texts += int((job.signed.n_shingles == 0).sum())
            stats.words += int(job.signed.n_words.sum())
            sign.seconds += job.seconds
    row = out.rows
    stats.sampled_rows = row
    stats.documents = row - stats.empty_texts
    sign.documents = stats.documents
    sign.anchors = out.anchors.count
    sign.doc_band_rows = out.bands.count
    sign.seconds = round(sign.seconds, 3)
    if stats.documents == 0:
        names = ", ".join(str(f.path) for f in files[:3]) + (" ..." if len(files) > 3 else "")
        raise EmptyTrainingSetError(
            f"{names}: no document with text in column {config.text_column!r} "
            f"({row} rows: {stats.null_texts} null, {stats.non_string_texts} non-string, "
            f"{stats.empty_texts} empty); check --text-column and the files"
        )
    return TrainingSide(side, stats, sign)
