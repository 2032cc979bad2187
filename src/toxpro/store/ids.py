"""Deterministic run ids: the same inputs always name the same run."""

from __future__ import annotations

import hashlib

from ..core.canonical import canonical_json


def run_id(
    scenario_hash: str, agent_model: str, env_model: str, settings: dict, condition_key: str, repeat: int
) -> str:
    payload = canonical_json(
        {
            "scenario": scenario_hash,
            "agent": agent_model,
            "env": env_model,
            "settings": settings,
            "condition": condition_key,
            "repeat": repeat,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def run_seed(base_seed: int, rid: str) -> int:
    return int(hashlib.sha256(f"{base_seed}:{rid}".encode()).hexdigest()[:8], 16)
