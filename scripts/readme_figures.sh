#!/usr/bin/env bash
# Regenerate the README's figures (docs/figures/*.png) from a scripted sweep; no API key needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
rm -rf experiments/readme
"$PY" -m toxpro.cli run docs/figures/sweep.yaml -q
"$PY" -m toxpro.cli report experiments/readme --paper experiments/readme/paper
"$PY" - <<'PYEOF'
from pathlib import Path
import matplotlib
from toxpro.analysis.names import with_agent_names
from toxpro.report.figures import make_figures
from toxpro.report.tables import compute_tables
from toxpro.store import RunStore

with RunStore("experiments/readme", create=False) as store:
    df = with_agent_names(store.frame())
tables, _ = compute_tables(df, B=1000, seed=0)
for f in make_figures({t.name: t.frame for t in tables}, Path("docs/figures"), dpi=70):
    f.paths.get("pdf") and f.paths["pdf"].unlink()  # the README needs only small PNGs
    print(f.name, f.note or "ok")
PYEOF
# the transcript viewer (docs/figures/viewer.png), in Debian's chromium via Playwright
"$PY" - <<'PYEOF'
from pathlib import Path
from playwright.sync_api import sync_playwright

with sync_playwright() as p:
    b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"], headless=True)
    pg = b.new_page(viewport={"width": 1200, "height": 900})
    pg.goto(Path("experiments/readme/report/report.html").resolve().as_uri())
    pg.select_option("#filter-label", "strategic")
    pg.locator("#run-list .run-item").first.click()
    box = pg.locator("#viewer").bounding_box()
    pg.screenshot(path="docs/figures/viewer.png", full_page=True,
                  clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": 1150})
    b.close()
PYEOF
