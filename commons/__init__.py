"""commons-provenance: measure how much of an AI training set came from a commons source."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
