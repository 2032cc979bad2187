"""LLM judges beside the rule labels: verdicts (why and how), agreement, human calibration, and
the over-refusal vs misalignment plane. Rule labels from tool roles stay the ground truth."""

from .agreement import confusion_table, disagreements, field_agreement, rule_agreement
from .calibrate import calibrate, human_agreement, human_frame
from .overrefusal import plot_refusal_plane, refusal_plane
from .prompt import JUDGE_INSTRUCTION, PROMPT_VERSION, TranscriptOptions, render_transcript
from .run import JudgeConfigError, JudgeSettings, JudgeSummary, judge_experiment, judgement_frame, verdict_rates
from .schema import MOTIVES, VERDICT_FIELDS, Verdict, verdict_json_schema
from .scripted import ScriptedJudge

__all__ = [
    "JUDGE_INSTRUCTION",
    "MOTIVES",
    "PROMPT_VERSION",
    "VERDICT_FIELDS",
    "JudgeConfigError",
    "JudgeSettings",
    "JudgeSummary",
    "ScriptedJudge",
    "TranscriptOptions",
    "Verdict",
    "calibrate",
    "confusion_table",
    "disagreements",
    "field_agreement",
    "human_agreement",
    "human_frame",
    "judge_experiment",
    "judgement_frame",
    "plot_refusal_plane",
    "refusal_plane",
    "render_transcript",
    "rule_agreement",
    "verdict_json_schema",
    "verdict_rates",
]
