"""Which signer an audit uses: the compiled one when it can, else the datasketch reference."""

from __future__ import annotations

from audit.config import AuditParams
from audit.signing.contract import Signer
from audit.signing.reference import DatasketchSigner
from commons.exceptions import ConfigError


def make_signer(params: AuditParams, kind: str = "auto") -> Signer:
    """The signer of ``params`` that ``kind`` names: ``"auto"`` (compiled when importable),
    ``"fast"`` (compiled) or ``"reference"`` (datasketch).

    Raises:
        ConfigError: ``kind="fast"`` but the compiled signer cannot be imported.
    """
    kwargs = {"num_perm": params.num_perm, "seed": params.seed, "ngram": params.ngram,
              "window": params.anchor_window}
    if kind in ("auto", "fast"):
        try:
            from audit.signing.compiled import FastSigner
        except ImportError as exc:
            if kind == "fast":
                raise ConfigError(
                    f"--signer fast: audit.signing.compiled is not importable ({exc}); "
                    "install numba or use --signer reference"
                ) from exc
        else:
            signer: Signer = FastSigner(**kwargs)
            return signer
    return DatasketchSigner(**kwargs)


def signer_name(signer: Signer) -> str:
    """``module.Class`` of a signer, for run.json."""
    return f"{type(signer).__module__}.{type(signer).__qualname__}"
