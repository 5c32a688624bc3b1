"""CLI verbs of the auditor: ``commons audit`` and ``commons audits``."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from commons.exceptions import ConfigError
from commons.options import data_option

#: The warning ``--seed`` prints (it was the sample seed before ``--sample-seed``).
SEED_DEPRECATED = ("warning: --seed is deprecated and goes away in the next release; "
                   "use --sample-seed")


def _split_sources(value: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in value.split(",") if s.strip())


def _sample_seed(sample_seed: int, deprecated_seed: int | None) -> int:
    """The sample seed, from ``--sample-seed`` or its deprecated alias ``--seed`` (warned).

    Raises:
        ConfigError: both were given.
    """
    if deprecated_seed is None:
        return sample_seed
    given = click.get_current_context().get_parameter_source("sample_seed")
    if given is ParameterSource.COMMANDLINE:
        raise ConfigError("invalid --seed: it is the deprecated name of --sample-seed; "
                          "give --sample-seed only")
    click.echo(SEED_DEPRECATED, err=True)
    return deprecated_seed


@click.command("audit")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--sources", required=True,
              help="Comma-separated sources to audit against (latest complete snapshot).")
@click.option("--run-name", required=True, help="Name of this run (folder and `run` column).")
@click.option("--text-column", default="text", show_default=True, help="Text column.")
@click.option("--id-column", default=None,
              help="Id column (default: 'id' when present, else <file>#<row>).")
@click.option("--threshold", type=float, default=0.8, show_default=True,
              help="Jaccard threshold of a near-duplicate; sets the LSH bands.")
@click.option("--num-perm", type=int, default=128, show_default=True,
              help="MinHash permutations.")
@click.option("--ngram", type=int, default=5, show_default=True, help="Words per shingle.")
@click.option("--minhash-seed", type=int, default=1, show_default=True,
              help="MinHash permutation seed.")
@click.option("--sample", type=int, default=None,
              help="Audit a uniform random sample of this many training documents.")
@click.option("--sample-seed", type=int, default=7, show_default=True,
              help="Seed of --sample.")
@click.option("--seed", "deprecated_seed", type=int, default=None,
              help="Deprecated name of --sample-seed; goes away in the next release.")
@click.option("--verify", type=click.Choice(["none", "exact"]), default="none",
              show_default=True,
              help="'exact': check every match on the shingle sets, keep only true ones.")
@click.option("--containment-threshold", type=float, default=0.8, show_default=True,
              help="Containment (either way) that makes a containment match.")
@click.option("--window-words", type=int, default=50, show_default=True,
              help="Containment window: a text of at least this many words inside "
                   "another, or a passage of twice as many shared by two long texts, is "
                   "always a candidate.")
@click.option("--memory-limit", default="256MB", show_default=True,
              help="DuckDB memory limit of the banding join (spills to disk beyond it).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
              show_default=True,
              help="Where the stages run: threads in this process, or tasks on a Ray "
                   "cluster (same results).")
@click.option("--ray-address", default=None,
              help="Ray cluster for --engine ray ('auto', or host:port of its head; "
                   "default: start a local one).")
@click.option("--signer", type=click.Choice(["auto", "reference", "fast"]),
              default="auto", show_default=True,
              help="Signer: the compiled one (audit.signing.compiled) when available (auto), "
                   "or datasketch.")
@click.option("--force", is_flag=True, help="Replace an existing run of this name.")
@click.option("--keep-work", is_flag=True, help="Keep the stage files in <run>/work/.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@data_option
def audit_command(inputs: tuple[str, ...], sources: str, run_name: str, text_column: str,
              id_column: str | None, threshold: float, num_perm: int, ngram: int,
              minhash_seed: int, sample: int | None, sample_seed: int,
              deprecated_seed: int | None, verify: str,
              containment_threshold: float, window_words: int, memory_limit: str,
              engine: str, ray_address: str | None, signer: str, force: bool,
              keep_work: bool, quiet: bool, data_dir: Path) -> None:
    """Measure how much of a training set overlaps each source, both ways, with CIs.

    INPUTS are Parquet files, folders or globs, JSON Lines (.jsonl, .jsonl.gz,
    .jsonl.zst) or `save_to_disk` folders. Results go to DATA/audits/RUN/ and the
    audit_runs, audit_matches and audit_summary views.
    """
    from audit.config import AuditConfig, AuditParams, RunOptions
    from audit.estimate.summary import TABLE_COLUMNS, table_rows
    from audit.run import run_audit
    from commons.store import DataDir
    from commons.tables import format_table

    params = AuditParams(threshold=threshold, num_perm=num_perm, ngram=ngram,
                         seed=minhash_seed, window_words=window_words,
                         containment_threshold=containment_threshold, verify=verify,
                         sample=sample, sample_seed=_sample_seed(sample_seed, deprecated_seed))
    options = RunOptions(engine=engine, ray_address=ray_address, signer=signer,
                         memory_limit=memory_limit, force=force, keep_work=keep_work,
                         progress=not quiet)
    config = AuditConfig(run_name=run_name, inputs=inputs, sources=_split_sources(sources),
                         text_column=text_column, id_column=id_column, params=params,
                         options=options)
    result = run_audit(config, DataDir(data_dir))
    read = result.meta.get("read", {})
    null, other = read.get("null_texts", 0), read.get("non_string_texts", 0)
    blank = read.get("empty_texts", 0)
    click.echo(f"audit {run_name}: {result.status}, {read.get('sampled_rows')} training rows "
               f"({blank} without text: {null} null, {other} non-string, "
               f"{blank - null - other} empty), {result.matches} matches -> {result.run_dir}")
    click.echo(format_table(TABLE_COLUMNS, table_rows(result.summary)))


@click.command("audits")
@data_option
def audits_command(data_dir: Path) -> None:
    """List audit runs: status, sources, parameters, start and end."""
    from audit.runs import displayed_status, list_runs
    from commons.store import DataDir
    from commons.tables import format_table

    data = DataDir(data_dir)
    runs = list_runs(data)
    if not runs:
        click.echo(f"no audits in {data.root}", err=True)
        return
    rows = [[r.get("run"), displayed_status(r), ",".join(r.get("sources") or []),
             r.get("threshold"), r.get("num_perm"), r.get("ngram"), r.get("sample"),
             r.get("verify"), r.get("started_at"), r.get("finished_at"), r.get("error")]
            for r in runs]
    click.echo(format_table(["run", "status", "sources", "threshold", "num_perm", "ngram",
                             "sample", "verify", "started", "finished", "error"], rows))
