"""Statistics on the run frame (one row per run): rates, intervals, condition effects, survival, turn profiles.

Numbers only; plotting and reports live elsewhere.
"""

from .effects import condition_effects, gee_condition_effect, holm, one_at_a_time_subset
from .fidelity import eval_awareness_table, fidelity_table
from .frame import BASELINE, CONDITION_VARIABLES, LABELS, MISALIGNED_LABELS, ROLES, TOXIC_ROLES, with_flags
from .intervals import BootstrapCI, cluster_bootstrap_diff, cluster_bootstrap_mr, wilson_arrays, wilson_interval
from .rates import headline, label_counts
from .scatter import RADAR_AXES, motivation_rates, radar_data
from .survival import event_times, kaplan_meier, misalignment_survival
from .turns import role_shares_by_turn

__all__ = [
    "BASELINE", "CONDITION_VARIABLES", "LABELS", "MISALIGNED_LABELS", "RADAR_AXES", "ROLES", "TOXIC_ROLES",
    "BootstrapCI", "cluster_bootstrap_diff", "cluster_bootstrap_mr", "condition_effects", "eval_awareness_table",
    "event_times", "fidelity_table",
    "gee_condition_effect", "headline", "holm", "kaplan_meier", "label_counts", "misalignment_survival",
    "motivation_rates", "one_at_a_time_subset", "radar_data", "role_shares_by_turn", "wilson_arrays",
    "wilson_interval", "with_flags",
]
