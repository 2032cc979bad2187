"""Target of the `inspect_ai` entry point: importing it registers toxpro's task, scorer and reducer."""

from .scoring import toxpro_label, toxpro_runs  # noqa: F401
from .task import toxic_proactivity  # noqa: F401
