"""Build a ChatModel from a model string or spec: a lookup in the provider registry (models/providers.py)."""

from __future__ import annotations

from .base import ChatModel
from .providers import PROVIDERS, BuildOptions, self_hosted
from .retry import RetryPolicy
from .spec import ModelSpec, parse_model

__all__ = ["build_model", "self_hosted"]


def build_model(
    text: str | ModelSpec, slot: str = "agent", policy: RetryPolicy | None = None, scripted_latency_s: float = 0.0
) -> ChatModel:
    """The model's client. `policy` carries attempts, timeout and transport (auto|sdk|direct)."""
    spec = parse_model(text) if isinstance(text, str) else text
    return PROVIDERS[spec.provider].build(spec, BuildOptions(slot, policy, scripted_latency_s))
