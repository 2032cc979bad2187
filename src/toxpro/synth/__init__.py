"""Scenario synthesis: story -> evidence -> tools -> compile, each stage behind a discriminator gate.

    from toxpro.synth import SynthConfig, synthesize
    report = asyncio.run(synthesize(SynthConfig(domain="Finance", motivation="loyalty", n=4), "out/"))

The command line is `toxpro synth` (toxpro/cli/synth.py)."""

from .config import StageGate, SynthConfig, SynthConfigError, build_gates, parse_domain, parse_motivation
from .cost import DEFAULT_PRICES, cost_usd, load_prices, price_for
from .estimate import Estimate, estimate
from .outputs import STAGES, CompileVerdict, Evidence, Story, Tools, Verdict, json_schema
from .pipeline import (
    Outcome,
    StepResult,
    Synthesizer,
    SynthReport,
    build_synth_model,
    run_stage_once,
    synthesize,
    write_scenario,
)
from .store import SynthStore

__all__ = [
    "DEFAULT_PRICES",
    "CompileVerdict",
    "Estimate",
    "Evidence",
    "Outcome",
    "STAGES",
    "StageGate",
    "StepResult",
    "Story",
    "SynthConfig",
    "SynthConfigError",
    "SynthReport",
    "SynthStore",
    "Synthesizer",
    "Tools",
    "Verdict",
    "build_gates",
    "build_synth_model",
    "cost_usd",
    "estimate",
    "json_schema",
    "load_prices",
    "parse_domain",
    "parse_motivation",
    "price_for",
    "run_stage_once",
    "synthesize",
    "write_scenario",
]
