"""Display names of agents: the stored name (-a NAME=MODEL), else the model string without its endpoint URL.

Tables and figures group by the display name (column `agent`); the full model string stays in `agent_model`.
"""

from __future__ import annotations

import pandas as pd

AGENT = "agent"
AGGREGATORS = {"openrouter", "together", "vllm", "compat", "ollama", "llamacpp"}  # serve other vendors' models


def default_name(model: str) -> str:
    """'vllm/Qwen/Qwen3-8B@http://gpu:8000/v1' → 'vllm/Qwen/Qwen3-8B' (no endpoint URL in legends)."""
    return str(model).split("@", 1)[0]


def default_family(model: str) -> str:
    """The vendor: 'openai/gpt-4o' → openai, 'openrouter/google/gemini-3' → google, 'scripted/x' → scripted."""
    parts = default_name(model).split("/")
    if parts[0].lower() in AGGREGATORS and len(parts) > 2:
        return parts[1].lower()
    return parts[0].lower()


def _mode(values: pd.Series):
    v = values.dropna()
    return v.astype(str).value_counts().index[0] if len(v) else None


def agent_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per agent model: model, agent (display name, unique), family, reasoning, runs."""
    rows = []
    for model, sub in df.groupby("agent_model", sort=True):
        name = _mode(sub["agent_name"]) if "agent_name" in sub else None
        family = _mode(sub["agent_family"]) if "agent_family" in sub else None
        reasoning = pd.to_numeric(sub["agent_reasoning"], errors="coerce").max() if "agent_reasoning" in sub else None
        rows.append(
            {
                "agent_model": str(model),
                "agent": name or default_name(model),
                "family": family or default_family(model),
                "reasoning": bool(reasoning) if reasoning is not None and pd.notna(reasoning) else False,
                "runs": len(sub),
            }
        )
    out = pd.DataFrame(rows, columns=["agent_model", "agent", "family", "reasoning", "runs"])
    clash = out["agent"].duplicated(keep=False)
    out.loc[clash, "agent"] = out.loc[clash, "agent_model"]  # two models, one name: keep them apart
    return out


def with_agent_names(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of the run frame with columns agent (display name), family and reasoning per run's agent model."""
    out = df.copy()
    if out.empty:
        for col in (AGENT, "family", "reasoning"):
            out[col] = pd.Series(dtype=object)
        return out
    table = agent_table(out).set_index("agent_model")
    key = out["agent_model"].astype(str)
    out[AGENT] = key.map(table[AGENT])
    out["family"] = key.map(table["family"])
    out["reasoning"] = key.map(table["reasoning"]).astype(bool)
    return out
