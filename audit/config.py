"""An audit's configuration: the parameters that define its result, the options of a run, and
the audit that ties them to its inputs. All of it goes into run.json.

* :class:`AuditParams`: the maths (datasketch's names: ``num_perm``, ``threshold``,
  ``scheme``, ``seed`` for the MinHash seed). The same parameters on the same inputs give the
  same signatures, matches and estimates; the signing ones name the signature cache.
* :class:`RunOptions`: how a run is carried out (engine, signer, memory, progress, ...);
  they never change a result.
* :class:`AuditConfig`: the run's name, inputs, sources and columns, its params and options.

:meth:`AuditConfig.to_dict` is flat (the three parts' field names never clash) and
:meth:`AuditConfig.from_dict` reads it back, so a run recorded in run.json can be rerun.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from commons.exceptions import ConfigError
from commons.store import check_source_name

#: The MinHash permutation scheme (datasketch >= 2.0 default); signatures depend on it.
SCHEME = "affine32"
#: The hash applied to each UTF-8 encoded shingle before the permutations.
HASHFUNC = "xxhash.xxh32_intdigest(seed=0)"
#: Bumped whenever the way signatures are derived from snapshot rows changes.
SIGNATURE_FORMAT = 2
#: Keys :meth:`AuditConfig.to_dict` adds to the fields (derived, ignored by ``from_dict``).
DERIVED = ("doc_lsh", "shared_shingles_min", "signing_hash")

_RUN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MEMORY_RE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


@functools.cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for ``threshold``, exactly as ``datasketch.MinHashLSH`` picks them (a
    numerical optimisation, so each pair is computed once)."""
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(bands), int(rows)


def _bad(option: str, why: str) -> ConfigError:
    return ConfigError(f"invalid {option}: {why}")


@dataclass(frozen=True)
class AuditParams:
    """The parameters that define an audit's result.

    Args:
        threshold: Jaccard threshold of a near-duplicate (also sets the LSH bands).
        num_perm: MinHash permutations.
        ngram: words per shingle.
        seed: MinHash permutation seed (datasketch's ``seed``).
        window_words: words per winnowing window of the containment index: a text of at
            least this many words inside another, or a passage of twice as many shared by two
            long texts, is always a candidate (see :mod:`audit.index.anchors`).
        containment_threshold: containment (either direction) that makes a containment match.
        min_shared_shingles: shared shingles that make a containment match regardless of
            the ratios (None: ``window_words - ngram + 1``, one window's worth).
        verify: ``"none"`` (MinHash decides near-duplicates) or ``"exact"`` (every match
            is checked on the shingle sets and only true matches are kept).
        sample: audit a uniform random sample of this many training documents.
        sample_seed: seed of that sample.
        calibration_pairs: about this many candidate pairs get exact values for calibration.
        calibration_seed: seed of that calibration subsample.
        confidence: confidence level of every interval.

    Raises:
        ConfigError: a value is out of range.
    """

    threshold: float = 0.8
    num_perm: int = 128
    ngram: int = 5
    seed: int = 1
    window_words: int = 50
    containment_threshold: float = 0.8
    min_shared_shingles: int | None = None
    verify: str = "none"
    sample: int | None = None
    sample_seed: int = 7
    calibration_pairs: int = 400
    calibration_seed: int = 0
    confidence: float = 0.95
    scheme: str = field(default=SCHEME, init=False)
    hashfunc: str = field(default=HASHFUNC, init=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise _bad("--threshold", f"{self.threshold}; use a Jaccard value in (0, 1]")
        if not 0.0 < self.containment_threshold <= 1.0:
            raise _bad("--containment-threshold", f"{self.containment_threshold}; use (0, 1]")
        if not 2 <= self.num_perm <= 1024:
            raise _bad("--num-perm", f"{self.num_perm}; use 2..1024")
        if not 1 <= self.ngram <= 64:
            raise _bad("--ngram", f"{self.ngram}; use 1..64")
        if self.sample is not None and self.sample < 1:
            raise _bad("--sample", f"{self.sample}; use a positive number of documents")
        if self.verify not in ("none", "exact"):
            raise _bad("--verify", f"{self.verify!r}; use 'none' or 'exact'")
        if self.window_words < self.ngram + 1:
            raise _bad("--window-words", f"{self.window_words}; must exceed --ngram")
        if not 0.5 < self.confidence < 1.0:
            raise _bad("--confidence", f"{self.confidence}; use e.g. 0.95")
        if self.calibration_pairs < 0:
            raise _bad("calibration_pairs", f"{self.calibration_pairs}; use 0 or more")

    @property
    def shared_shingles_min(self) -> int:
        """Shared shingles that alone make a containment match."""
        if self.min_shared_shingles is not None:
            return self.min_shared_shingles
        return self.window_words - self.ngram + 1

    @property
    def anchor_window(self) -> int:
        """Shingles per winnowing window: a shared passage of ``window_words`` words is found."""
        return self.window_words - self.ngram + 1

    @property
    def doc_lsh(self) -> tuple[int, int]:
        """(bands, rows) of the whole-document index."""
        return lsh_params(self.threshold, self.num_perm)

    def signing_params(self) -> dict[str, Any]:
        """The parameters a stored signature depends on (and nothing else)."""
        return {
            "num_perm": self.num_perm,
            "seed": self.seed,
            "scheme": self.scheme,
            "hashfunc": self.hashfunc,
            "ngram": self.ngram,
            "window_words": self.window_words,
            "signature_format": SIGNATURE_FORMAT,
        }

    def signing_hash(self) -> str:
        """Short hash of :meth:`signing_params`; names the signature cache folder."""
        blob = json.dumps(self.signing_params(), sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class RunOptions:
    """How a run is carried out; no option changes its result.

    Args:
        engine: how the stages are scheduled: ``"local"`` (threads in this process) or
            ``"ray"`` (tasks on a Ray cluster; same results, see :mod:`audit.engine`).
        ray_address: the Ray cluster to use with ``engine="ray"`` (None: start a local one;
            ``"auto"``: the cluster this machine belongs to).
        signer: ``"auto"`` (compiled ``audit.signing.compiled`` when importable),
            ``"reference"`` (datasketch) or ``"fast"``.
        batch_size: documents per read/sign batch.
        memory_limit: DuckDB ``memory_limit`` for the banding join (it spills beyond it).
        duckdb_threads: DuckDB threads (None: DuckDB's default).
        force: replace an existing run of the same name.
        keep_work: keep ``work/`` (stage intermediates) after a complete run.
        progress: show tqdm progress bars.

    Raises:
        ConfigError: a value is not one of the choices.
    """

    engine: str = "local"
    ray_address: str | None = None
    signer: str = "auto"
    batch_size: int = 2000
    memory_limit: str = "256MB"
    duckdb_threads: int | None = None
    force: bool = False
    keep_work: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.signer not in ("auto", "reference", "fast"):
            raise _bad("--signer", f"{self.signer!r}; use auto, reference or fast")
        if self.engine not in ("local", "ray"):
            raise _bad("--engine", f"{self.engine!r}; use local or ray")
        if not _MEMORY_RE.match(self.memory_limit.strip()):
            raise _bad("--memory-limit", f"{self.memory_limit!r}; write e.g. 512MB or 2GB")
        if self.batch_size < 1:
            raise _bad("batch_size", f"{self.batch_size}; use 1 or more documents per batch")


def _init_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if f.init]


@dataclass(frozen=True)
class AuditConfig:
    """One audit run: what is audited against what, with which parameters and options.

    Args:
        run_name: folder name under ``DATA/audits/`` and the ``run`` column of the views.
        inputs: training-set paths, folders or globs (Parquet, JSON Lines, save_to_disk).
        sources: names of the commons sources to audit against (latest complete snapshot).
        text_column: column holding the document text.
        id_column: column holding the document id; None uses ``"id"`` when present, else
            ``<file>#<row>``.
        params: the parameters that define the result.
        options: how the run is carried out.

    Raises:
        ConfigError: the run name, inputs or sources are unusable.

    >>> config = AuditConfig("c4", ("c4/*.parquet",), ("wiki",), params=AuditParams(sample=100))
    >>> AuditConfig.from_dict(config.to_dict()) == config
    True
    """

    run_name: str
    inputs: tuple[str, ...]
    sources: tuple[str, ...]
    text_column: str = "text"
    id_column: str | None = None
    params: AuditParams = field(default_factory=AuditParams)
    options: RunOptions = field(default_factory=RunOptions)

    def __post_init__(self) -> None:
        if not _RUN_RE.match(self.run_name or ""):
            raise _bad("--run-name", f"{self.run_name!r}; use 1-128 letters, digits, '.', '_', "
                       "'-'")
        if not self.inputs:
            raise _bad("INPUTS", "give at least one training-set file, folder or glob")
        if not self.sources:
            raise _bad("--sources", "name at least one source (see `commons snapshots`)")
        for s in self.sources:
            check_source_name(s)
        if len(set(self.sources)) != len(self.sources):
            raise _bad("--sources", f"{','.join(self.sources)} names a source twice")

    def to_dict(self) -> dict[str, Any]:
        """Every field of the audit, its params and its options in one flat JSON-ready dict,
        plus the derived LSH layout, shared-shingle minimum and signing hash
        (:data:`DERIVED`)."""
        p = self.params
        return {
            "run_name": self.run_name, "inputs": list(self.inputs),
            "sources": list(self.sources), "text_column": self.text_column,
            "id_column": self.id_column, **asdict(p), **asdict(self.options),
            "doc_lsh": {"bands": p.doc_lsh[0], "rows": p.doc_lsh[1]},
            "shared_shingles_min": p.shared_shingles_min, "signing_hash": p.signing_hash(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditConfig:
        """The config a :meth:`to_dict` dict describes; missing fields take their defaults
        and derived keys, ``scheme`` and ``hashfunc`` are ignored.

        Raises:
            ConfigError: a key is not a field, or a value is invalid.
            KeyError: ``run_name``, ``inputs`` or ``sources`` is missing.
        """
        own = ("run_name", "inputs", "sources", "text_column", "id_column")
        params, options = _init_fields(AuditParams), _init_fields(RunOptions)
        unknown = set(data) - {*own, *params, *options, *DERIVED, "scheme", "hashfunc"}
        if unknown:
            raise ConfigError(f"unknown audit settings: {', '.join(sorted(unknown))}")
        return cls(
            run_name=data["run_name"], inputs=tuple(data["inputs"]),
            sources=tuple(data["sources"]), text_column=data.get("text_column", "text"),
            id_column=data.get("id_column"),
            params=AuditParams(**{k: data[k] for k in params if k in data}),
            options=RunOptions(**{k: data[k] for k in options if k in data}),
        )
