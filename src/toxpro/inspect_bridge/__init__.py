"""toxpro inside Inspect AI (optional extra `toxpro[inspect]`).

- `task.py`: the native task `toxpro/toxic_proactivity` (registered through the `inspect_ai` entry point,
  `_registry.py`); its solver runs toxpro's own engine on Inspect models (`model.py`).
- `scoring.py`: the rule-label scorer, its metrics and the epoch reducer.
- `events.py`: what each turn shows in Inspect's transcript.
- `export.py`: a run store → Inspect .eval logs; `importer.py`: logs of the native task → a run store.

Nothing here is imported by the rest of toxpro unless inspect-ai is installed and asked for."""

RECORD_KEY = "toxpro:record"  # the run's RunRecord (JSON) in the Inspect sample store
