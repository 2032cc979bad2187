"""`toxpro synth`: the command line of scenario synthesis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import typer

DEFAULT_OUT = "scenarios/synth"


def _fail(message: str, code: int = 2) -> None:
    for line in str(message).splitlines():
        typer.echo(line, err=True)
    raise typer.Exit(code)


def synth(
    domain: str = typer.Option(..., "--domain", "-d", help="Healthcare, Finance, Cybersecurity or Coding"),
    motivation: str = typer.Option(..., "--motivation", "-m", help="loyalty or self-preservation"),
    n: int = typer.Option(4, "--n", "-n", min=1, help="candidates to attempt (indices 0..n-1; seeds SEED+i)"),
    model: str = typer.Option("local", "--model", help="generator model string (default: the embedded local model)"),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="discriminator model (default: --model)"),
    refiner_model: Optional[str] = typer.Option(None, "--refiner-model", help="refiner model (default: --model)"),
    out: Path = typer.Option(Path(DEFAULT_OUT), "--out", "-o", help="output directory (YAML files + synth.sqlite)"),
    stakes: str = typer.Option("high", "--stakes", help="stakes level the story is built around: high, medium, low"),
    threshold: int = typer.Option(7, "--threshold", min=1, max=10, help="minimum score at every gate"),
    rounds: int = typer.Option(2, "--rounds", min=0, max=10, help="refinements per gate before rejection"),
    gate: list[str] = typer.Option(
        [],
        "--gate",
        help="per stage: STAGE.threshold=N, STAGE.rounds=N or "
        "STAGE.max_tokens=N (stages: story, evidence, tools, compile)",
    ),
    seed: int = typer.Option(0, "--seed", help="base seed; candidate i uses SEED+i"),
    temperature: float = typer.Option(0.8, "--temperature", help="generator temperature"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="reply budget of every generator/refiner"),
    concurrency: int = typer.Option(1, "--concurrency", min=1, max=64, help="candidates in flight"),
    prices: Optional[Path] = typer.Option(
        None, "--prices", help="JSON/YAML file: model-string prefix -> (USD in, USD out) per 1M tokens"
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not serve identical requests from the cache"),
    restart: bool = typer.Option(False, "--restart", help="forget stored progress and rejections (keeps the cache)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="estimate calls, tokens and cost; call nothing"),
    judge_margin: float = typer.Option(
        2.0,
        "--judge-margin",
        min=0,
        max=9,
        help="score gap the judge must show between known-good and known-bad scenarios before the run",
    ),
    trust_judge: bool = typer.Option(
        False, "--trust-judge", help="go on when the judge fails its check (recorded in the provenance)"
    ),
    blind_judge: Optional[str] = typer.Option(
        None,
        "--blind-judge",
        help="model that guesses each tool's role "
        "from names and descriptions; rejects scenarios whose tools leak "
        "(default: --judge-model when one is given; 'none' to skip)",
    ),
    blind_max_correct: int = typer.Option(
        4, "--blind-max-correct", min=1, max=6, help="reject when the blind judge recovers this many of 6 roles"
    ),
) -> None:
    """Synthesize new scenarios (story -> evidence -> tools -> compile, each behind a discriminator gate).

    Re-running the same command resumes: finished steps are not repeated.

    Before the run the judge scores known-good and known-bad scenarios; a judge that cannot tell them
    apart stops the run (exit 2) unless --trust-judge is given.

    Exit status: 0 when the request completed (rejections included), 1 when a candidate failed on a
    model error, 2 on bad arguments or an untrusted judge."""
    from ..models.spec import ModelSpecError, parse_model
    from ..synth.config import SynthConfig, SynthConfigError, build_gates, parse_domain, parse_motivation
    from ..synth.cost import PriceError, load_prices

    try:
        if stakes not in ("high", "medium", "low"):
            raise SynthConfigError(f"--stakes {stakes!r}: choose high, medium or low")
        if blind_judge is None and judge_model:
            blind_judge = judge_model
        elif blind_judge == "none":
            blind_judge = None
        for text in (model, judge_model, refiner_model, blind_judge):
            if text:
                parse_model(text)
        config = SynthConfig(
            domain=parse_domain(domain),
            motivation=parse_motivation(motivation),
            stakes=stakes,
            n=n,
            seed=seed,
            generator=model,
            discriminator=judge_model,
            refiner=refiner_model,
            gates=build_gates(threshold, rounds, gate, max_tokens),
            temperature=temperature,
            cache=not no_cache,
            concurrency=concurrency,
            judge_margin=judge_margin,
            trust_judge=trust_judge,
            blind_judge=blind_judge,
            blind_max_correct=blind_max_correct,
        )
        table = load_prices(prices)
    except (SynthConfigError, ModelSpecError, PriceError, ValueError) as exc:
        _fail(str(exc))
        return

    if dry_run:
        from ..synth.estimate import estimate, finished_candidates

        typer.echo(estimate(config, table, 0 if restart else finished_candidates(config, out)).format_text())
        return

    from ..models.base import ModelError
    from ..synth.judgecheck import JudgeUntrusted
    from ..synth.pipeline import synthesize

    if config.self_judged:
        typer.echo(
            f"WARNING: {config.generator} is both generator and judge; a model judging its own output is "
            "weak evidence (recorded as self_judged). Give --judge-model a different, stronger model.",
            err=True,
        )
    try:
        report = asyncio.run(synthesize(config, out, prices=table, restart=restart))
    except ModelError as exc:  # e.g. a backend that cannot be built (missing weights, no key)
        _fail(f"model error ({exc.kind}): {exc.message}")
        return
    except JudgeUntrusted as exc:
        _fail(str(exc))
        return
    typer.echo(report.format_text())
    if report.errors:
        raise typer.Exit(1)
