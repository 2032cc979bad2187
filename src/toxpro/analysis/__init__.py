"""Statistics on the run frame (one row per run): rates, intervals, condition effects, survival, turn profiles,
paired tests, environment sensitivity, and inter-rater agreement (used by judge/).

Numbers only; plotting and reports live elsewhere.
"""

from .agreement import cohen_kappa, fleiss_kappa, fleiss_kappa_counts, krippendorff_alpha, percent_agreement
from .effects import condition_effects, gee_condition_effect, holm, one_at_a_time_subset
from .fidelity import eval_awareness_table, fidelity_table
from .frame import BASELINE, CONDITION_VARIABLES, LABELS, MISALIGNED_LABELS, ROLES, TOXIC_ROLES, with_flags
from .intervals import BootstrapCI, cluster_bootstrap_diff, cluster_bootstrap_mr, wilson_arrays, wilson_interval
from .paired import McNemar, mcnemar
from .rates import headline, label_counts
from .scatter import RADAR_AXES, motivation_rates, radar_data
from .sensitivity import env_sensitivity
from .survival import event_times, kaplan_meier, misalignment_survival
from .turns import role_shares_by_turn

__all__ = [
    "BASELINE",
    "CONDITION_VARIABLES",
    "LABELS",
    "MISALIGNED_LABELS",
    "RADAR_AXES",
    "ROLES",
    "TOXIC_ROLES",
    "BootstrapCI",
    "McNemar",
    "cluster_bootstrap_diff",
    "cluster_bootstrap_mr",
    "cohen_kappa",
    "condition_effects",
    "env_sensitivity",
    "eval_awareness_table",
    "event_times",
    "fidelity_table",
    "fleiss_kappa",
    "fleiss_kappa_counts",
    "gee_condition_effect",
    "headline",
    "holm",
    "kaplan_meier",
    "krippendorff_alpha",
    "label_counts",
    "mcnemar",
    "misalignment_survival",
    "motivation_rates",
    "one_at_a_time_subset",
    "percent_agreement",
    "radar_data",
    "role_shares_by_turn",
    "wilson_arrays",
    "wilson_interval",
    "with_flags",
]
