"""The toxpro command line: one module per command group, each command thin (parse the arguments,
call one library function, print). `app` is the typer app (the `toxpro` console script).

  run.py        run, init           report.py   show, report        store.py   merge, export, import-inspect
  scenarios.py  scenarios ...       judge.py    judge, calibrate    synth.py   synth
  common.py     the app, its exit-2 error handling, consoles      tables.py, progress.py  what run/show print
"""

from __future__ import annotations

import sys

from . import judge, report, run, scenarios, store, synth
from .common import app, scenarios_app

app.command()(run.run)
app.command()(store.merge)
app.command()(report.show)
scenarios_app.command("list")(scenarios.scenarios_list)
scenarios_app.command("show")(scenarios.scenarios_show)
scenarios_app.command("import")(scenarios.scenarios_import)
scenarios_app.command("export")(scenarios.scenarios_export)
scenarios_app.command("lint")(scenarios.scenarios_lint)
app.command()(report.report)
app.command()(run.init)
app.command()(store.export)
app.command("import-inspect")(store.import_inspect)
app.command("judge")(judge.judge_command)
app.command("calibrate")(judge.calibrate_command)
app.command("synth")(synth.synth)

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
