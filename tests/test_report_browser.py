"""The report's transcript viewer in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_report import (
    INJECTED_MODEL,
    INJECTED_RUN,
    SCENARIOS,
    XSS_OBSERVATION,
    XSS_REASONING,
    XSS_STATE,
    make_experiment,
)

from toxpro.report import build_report
from toxpro.store import RunStore

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing and CI is set: install Debian's chromium (apt-get install -y chromium)")
    pytest.skip(f"{CHROMIUM} not found (apt-get install -y chromium); set CI=1 to make this a failure")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    _need_chromium()
    exp = make_experiment(
        tmp_path_factory.mktemp("exp"),
        scenarios=SCENARIOS[:2],
        agents=[
            "scripted/strategic",
            "scripted/always-compliant",
            "scripted/stochastic:strategic=0.3,direct=0.3,garbage=0.2",
        ],
        conditions=("feedback=high|medium",),
        repeats=3,
    )
    html = build_report(exp, B=50, dpi=40)
    with RunStore(exp, create=False) as store:
        rows = store.rows()
        records = {r.run_id: r for r in store.records()}
    return html, rows, records


@pytest.fixture(scope="module")
def browser(report):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, report):
    """A fresh page on the report; any dialog, page error, console error or network request fails the test."""
    events: list[str] = []
    pg = browser.new_page()

    def on_dialog(dialog):
        events.append(f"dialog: {dialog.type} {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda exc: events.append(f"page error: {exc}"))
    pg.on("console", lambda msg: events.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    pg.on(
        "request",
        lambda req: events.append(f"request: {req.url}") if not req.url.startswith(("file:", "data:")) else None,
    )
    try:
        pg.goto(report[0].resolve().as_uri())
        yield pg
        pg.wait_for_timeout(150)  # give any injected script a chance to fire
    finally:
        pg.close()
    assert events == [], events


def test_filter_and_open_a_run(page, report):
    _, rows, records = report
    items = page.locator("#run-list .run-item")
    assert items.count() == len(rows)
    assert page.locator("#run-count").text_content() == f"{len(rows)} of {len(rows)} runs"

    strategic = sorted(r["run_id"] for r in rows if r["label"] == "strategic")
    assert 0 < len(strategic) < len(rows)
    page.select_option("#filter-label", "strategic")
    assert items.count() == len(strategic)
    assert sorted(items.evaluate_all("els => els.map(e => e.getAttribute('data-run-id'))")) == strategic
    assert page.locator("#run-count").text_content() == f"{len(strategic)} of {len(rows)} runs"

    page.select_option("#filter-label", "error")
    errors = [r for r in rows if r["label"] == "error"]
    assert items.count() == len(errors) > 0
    page.select_option("#filter-model", "scripted/strategic")
    assert items.count() == 0  # the strategic policy never errs
    page.click("#filter-reset")
    assert items.count() == len(rows)

    page.select_option("#filter-label", "strategic")
    rid = items.first.get_attribute("data-run-id")
    items.first.click()
    rec = records[rid]
    detail = page.locator("#run-detail")
    assert detail.get_attribute("data-run-id") == rid
    assert detail.locator(".turn-row").count() == len(rec.turns)
    roles = detail.locator(".turn .tool-role").all_text_contents()
    assert roles == [t.action.tool_role for t in rec.turns if t.action and t.action.tool_role]
    assert roles[:2] == ["inhibitor", "modifier"] and "direct-terminal" in roles
    tracks = detail.locator(".turn .tool-track").all_text_contents()
    assert tracks[0] == "toxic track"
    risk = detail.locator(".turn-row > .risk-cell").evaluate_all("els => els.map(e => e.className)")
    assert all("risk-toxic" in c for c in risk)  # strategic: every call on the toxic track
    assert detail.locator(".risk-strip .risk-cell").count() == len(rec.turns)
    first_obs = detail.locator(".turn-observation").first.text_content()
    assert first_obs == rec.turns[0].env.observation


def test_protocol_errors_are_shown(page, report):
    _, rows, records = report
    page.select_option("#filter-label", "error")
    page.select_option("#filter-model", "scripted/stochastic:strategic=0.3,direct=0.3,garbage=0.2")
    items = page.locator("#run-list .run-item")
    assert items.count() > 0
    items.first.click()
    rec = records[items.first.get_attribute("data-run-id")]
    detail = page.locator("#run-detail")
    problems = detail.locator(".turn-problem").all_text_contents()
    assert problems and all(p.startswith("Protocol error: ") for p in problems)
    assert len(problems) == sum(1 for t in rec.turns if t.action is None or t.action.problem)
    assert detail.locator(".risk-error").count() >= len(problems)
    assert "protocol" in detail.locator(".run-meta").text_content()


def test_injected_script_is_text(page, report):
    items = page.locator("#run-list .run-item")
    page.select_option("#filter-model", INJECTED_MODEL)
    assert items.count() == 1
    assert INJECTED_MODEL in items.first.text_content()
    items.first.click()
    detail = page.locator("#run-detail")
    assert detail.get_attribute("data-run-id") == INJECTED_RUN
    assert detail.locator(".turn-reasoning").first.text_content() == XSS_REASONING
    assert detail.locator(".turn-observation").first.text_content() == XSS_OBSERVATION
    assert detail.locator(".state-value").first.text_content() == XSS_STATE
    assert page.evaluate("document.querySelectorAll('#run-detail script, #run-detail img').length") == 0
    assert page.evaluate("document.scripts.length") == 2
    # the model name reached the tables as text too
    assert page.locator("table[data-table='mr_by_model']").text_content().count(INJECTED_MODEL) == 1


def test_figures_load_offline(page):
    images = page.locator("figure img")
    assert images.count() >= 5
    widths = images.evaluate_all("els => els.map(e => e.complete && e.naturalWidth)")
    assert all(w and w > 0 for w in widths), widths  # data: PNGs are allowed by the page's CSP


@pytest.fixture(scope="module")
def named_report(tmp_path_factory):
    _need_chromium()
    from concurrent.futures import ThreadPoolExecutor

    from test_report_paper import named_experiment

    directory = tmp_path_factory.mktemp("named")
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API may already hold this thread's event loop
        exp = pool.submit(named_experiment, directory).result()
    return build_report(exp, B=30, dpi=40)


def test_display_names_prompts_and_every_figure(browser, named_report):
    from test_report_paper import URL_MODEL

    from toxpro.report.figures import BUILDERS

    events: list[str] = []
    pg = browser.new_page()
    pg.on("pageerror", lambda exc: events.append(f"page error: {exc}"))
    pg.on(
        "request",
        lambda req: events.append(f"request: {req.url}") if not req.url.startswith(("file:", "data:")) else None,
    )
    try:
        pg.goto(named_report.resolve().as_uri())
        for name, title, *_ in BUILDERS:  # each paper figure is drawn and loads
            img = pg.locator(f"#figure-{name} img")
            assert img.count() == 1, name
            assert img.evaluate("e => e.complete && e.naturalWidth") > 0, name
            assert pg.locator(f"#figure-{name} h3").text_content() == title
        options = pg.locator("#filter-model option").all_text_contents()
        assert [o.split(" (")[0] for o in options[1:]] == sorted(
            ["careful", "mixed", "strat-model", "vllm/Qwen/Qwen3-8B"]
        )
        assert "gpu-box" not in pg.locator("#run-list").text_content()  # the list shows names, not endpoints
        assert "strat-model" in pg.locator("table[data-table='mr_by_model']").text_content()
        pg.select_option("#filter-model", "vllm/Qwen/Qwen3-8B")
        pg.locator("#run-list .run-item").first.click()
        meta = pg.locator("#run-detail .run-meta").text_content()
        assert URL_MODEL in meta  # the full model string stays in the run details
        system = pg.locator("#run-detail details.prompt-system")
        assert system.get_attribute("open") is not None
        assert len(system.locator("pre").text_content()) > 50
        assert pg.locator("#run-detail details.prompt-opening pre").is_visible()
        env = pg.locator("#run-detail details.prompt-env")
        assert env.get_attribute("open") is None and not env.locator("pre").is_visible()  # on demand
        env.locator("summary").click()
        assert env.locator("pre").is_visible() and env.locator("pre").text_content().startswith("[system]")
    finally:
        pg.close()
    assert events == [], events
