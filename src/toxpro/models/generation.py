"""A model's own generation settings (`generation:` in sweeps, `--gen MODEL:KEY=VALUE`): the keys of
Sampling a model may set for itself, over the defaults of the role it plays."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KEYS = ("max_tokens", "temperature", "top_p", "reasoning_effort", "extra_body", "send_seed", "json_mode")


class Generation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    extra_body: dict[str, Any] | None = None
    send_seed: bool | None = None
    json_mode: bool | None = None

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
