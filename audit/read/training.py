"""The training set as one stream of batches (:class:`TrainingBatch`): every file in order,
or a uniform sample of its rows.

Sampling (``--sample N --sample-seed S``) is two-pass by count: the first pass counts rows
(free for Parquet), then ``numpy.random.default_rng(S).choice(rows, N, replace=False)`` picks
row positions, and the second pass keeps them. Memory is O(N) positions whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audit.config import AuditConfig
from audit.read.inputs import InputFile
from audit.read.readers import TrainingBatch, open_reader


@dataclass
class ReadStats:
    """What the read pass saw."""

    files: int = 0
    population_rows: int = 0
    sampled_rows: int = 0
    null_texts: int = 0
    non_string_texts: int = 0
    empty_texts: int = 0
    documents: int = 0
    words: int = 0
    sampled: bool = False
    per_file_rows: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sample_positions(total: int, sample: int, seed: int) -> np.ndarray:
    """The sorted row positions a sample of ``sample`` out of ``total`` rows keeps."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=sample, replace=False)).astype(np.int64)


def training_batches(files: list[InputFile], config: AuditConfig,
                     stats: ReadStats) -> Iterator[TrainingBatch]:
    """The batches of ``files`` (sampled when ``config`` says so); counts go to ``stats``.

    Raises:
        MissingColumnError: a file lacks the text column or the named id column.
        CorruptInputError: a file cannot be read.
    """
    readers = [open_reader(f, config.text_column, config.id_column) for f in files]
    stats.files = len(readers)
    keep: np.ndarray | None = None
    sample = config.params.sample
    if sample is not None:
        total = int(sum(r.count_rows() for r in readers))
        stats.population_rows = total
        if sample < total:
            keep = sample_positions(total, sample, config.params.sample_seed)
            stats.sampled = True
    offset = 0
    for r in readers:
        rows_in_file = 0
        for batch in r.batches(config.options.batch_size):
            n = len(batch.texts)
            rows_in_file += n
            if keep is not None:
                lo, hi = np.searchsorted(keep, [offset, offset + n])
                idx = keep[lo:hi] - offset
                offset += n
                if not len(idx):
                    continue
                batch = batch.take(idx)
            else:
                offset += n
            yield batch
        stats.per_file_rows[str(r.file.path)] = rows_in_file
    if sample is None:
        stats.population_rows = offset
