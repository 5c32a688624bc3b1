"""Which signer an audit uses: the compiled one when it can, else the datasketch reference."""

from __future__ import annotations

from audit.config import AuditConfig
from audit.signing.contract import Signer
from audit.signing.reference import DatasketchSigner
from commons.exceptions import ConfigError


def make_signer(config: AuditConfig) -> Signer:
    """The signer ``config.signer`` names: ``"auto"`` (compiled when importable), ``"fast"``
    (compiled) or ``"reference"`` (datasketch).

    Raises:
        ConfigError: ``signer="fast"`` but the compiled signer cannot be imported.
    """
    kwargs = {"num_perm": config.num_perm, "seed": config.seed, "ngram": config.ngram,
              "window": config.anchor_window}
    if config.signer in ("auto", "fast"):
        try:
            from audit.signing.compiled import FastSigner
        except ImportError as exc:
            if config.signer == "fast":
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
