"""Safeguard specs: `NAME[:ARGS]` strings → typed, recorded parts of a run's settings.

    none                                     no safeguard (the unguarded arm)
    reminder[:mild|strong]                   a safety reminder in the agent's system prompt
    constraints                              an explicit list of operating constraints in the prompt
    monitor:model=M[,mode=call|trajectory][,cot=true|false][,temperature=T][,max_tokens=N]
                                             a separate model reviews each proposed call before it runs
    escalation                               a seventh tool: hand the case to a human (ends the run)

A set of safeguards (one arm of a comparison) joins specs with `+`: `reminder:strong+escalation`.
Its canonical key (`safeguard_key`) is order-free, so `a+b` and `b+a` are the same arm."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.errors import ToxproError

Kind = Literal["reminder", "constraints", "monitor", "escalation"]
_ORDER = ("reminder", "constraints", "monitor", "escalation")
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
_MODES = {"call": "call", "per-call": "call", "per_call": "call", "trajectory": "trajectory"}


class SafeguardError(ToxproError, ValueError):
    pass


class Safeguard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Kind
    level: Literal["mild", "strong"] | None = None  # reminder only
    model: str | None = None  # monitor: its model string (any backend)
    mode: Literal["call", "trajectory"] | None = None  # monitor: this call only, or the calls so far as well
    cot: bool | None = None  # monitor: shown the agent's reasoning (chain of thought) or the action only
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=16, le=8192)

    @property
    def key(self) -> str:
        if self.kind == "reminder":
            return f"reminder:{self.level}"
        if self.kind == "monitor":
            extra = "".join(
                f",{k}={getattr(self, k)}" for k in ("temperature", "max_tokens") if getattr(self, k) is not None
            )
            return f"monitor:model={self.model},mode={self.mode},cot={str(self.cot).lower()}{extra}"
        return self.kind


def _monitor(text: str, args: str) -> Safeguard:
    values: dict[str, object] = {}
    for part in filter(None, (p.strip() for p in args.split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise SafeguardError(f"safeguard {text!r}: expected KEY=VALUE, got {part!r}")
        if key == "model":
            values["model"] = value
        elif key == "mode":
            if value not in _MODES:
                raise SafeguardError(f"safeguard {text!r}: mode must be call or trajectory, not {value!r}")
            values["mode"] = _MODES[value]
        elif key == "cot":
            if value.lower() not in _TRUE | _FALSE:
                raise SafeguardError(f"safeguard {text!r}: cot must be true or false, not {value!r}")
            values["cot"] = value.lower() in _TRUE
        elif key in ("temperature", "max_tokens"):
            try:
                values[key] = float(value) if key == "temperature" else int(value)
            except ValueError:
                raise SafeguardError(f"safeguard {text!r}: {key} must be a number, not {value!r}") from None
        else:
            raise SafeguardError(
                f"safeguard {text!r}: unknown monitor argument {key!r}; use model, mode, cot, temperature, max_tokens"
            )
    if "model" not in values:
        raise SafeguardError(
            f"safeguard {text!r}: a monitor needs model=PROVIDER/MODEL, "
            "e.g. monitor:model=openai/gpt-4o-mini or monitor:model=scripted/monitor-block-toxic"
        )
    from ..models.spec import ModelSpecError, parse_model

    try:
        values["model"] = parse_model(str(values["model"])).raw
    except ModelSpecError as exc:
        raise SafeguardError(f"safeguard {text!r}: {exc}") from None
    try:
        return Safeguard(kind="monitor", mode=values.pop("mode", "call"), cot=values.pop("cot", True), **values)
    except ValueError as exc:
        raise SafeguardError(f"safeguard {text!r}: {exc}") from None


def parse_safeguard(text: str) -> Safeguard:
    """One spec, e.g. 'reminder:strong' or 'monitor:model=openai/gpt-4o-mini,mode=trajectory,cot=false'."""
    text = text.strip()
    name, _, args = text.partition(":")
    name = name.strip().lower()
    if name == "reminder":
        level = (args.strip() or "mild").lower()
        if level not in ("mild", "strong"):
            raise SafeguardError(f"safeguard {text!r}: reminder takes mild or strong, not {level!r}")
        return Safeguard(kind="reminder", level=level)
    if name in ("constraints", "escalation"):
        if args.strip():
            raise SafeguardError(f"safeguard {text!r}: {name} takes no arguments")
        return Safeguard(kind=name)
    if name == "monitor":
        return _monitor(text, args)
    raise SafeguardError(
        f"unknown safeguard {text!r}; known: none, reminder[:mild|strong], constraints, "
        "monitor:model=M[,mode=call|trajectory][,cot=true|false], escalation"
    )


def canonical(items: list[Safeguard]) -> list[Safeguard]:
    """A safeguard set in canonical order; one of each kind."""
    out = sorted(items, key=lambda s: _ORDER.index(s.kind))
    kinds = [s.kind for s in out]
    dupes = sorted({k for k in kinds if kinds.count(k) > 1})
    if dupes:
        raise SafeguardError(f"safeguard set {safeguard_key(out)!r}: at most one {', '.join(dupes)} per run")
    return out


def parse_arm(text: str | list[str]) -> list[Safeguard]:
    """One arm: 'none', 'reminder:strong+escalation', or a list of specs."""
    parts = text if isinstance(text, list) else str(text).split("+")
    parts = [p for p in (str(x).strip() for x in parts) if p and p.lower() != "none"]
    return canonical([parse_safeguard(p) for p in parts])


def safeguard_key(items: list[Safeguard]) -> str:
    return "+".join(s.key for s in items) or "none"


def arms(texts: list[str | list[str]]) -> list[list[Safeguard]]:
    """The arms of a sweep: the unguarded arm first (always, for pairing), then each given set once."""
    out: list[list[Safeguard]] = [[]]
    seen = {"none"}
    for text in texts:
        arm = parse_arm(text)
        if safeguard_key(arm) not in seen:
            seen.add(safeguard_key(arm))
            out.append(arm)
    return out


def monitor_of(items: list[Safeguard]) -> Safeguard | None:
    return next((s for s in items if s.kind == "monitor"), None)


def has_escalation(items: list[Safeguard]) -> bool:
    return any(s.kind == "escalation" for s in items)
