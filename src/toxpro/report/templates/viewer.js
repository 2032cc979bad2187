/* toxpro transcript viewer. Model output is untrusted: everything from the data is set with textContent. */
(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("run-data").textContent);
  var runs = payload.runs;
  var byId = Object.create(null);
  runs.forEach(function (r) { byId[r.id] = r; });
  var FILTERS = [
    ["filter-model", "model"], ["filter-scenario", "scenario"], ["filter-domain", "domain"],
    ["filter-motivation", "motivation"], ["filter-condition", "condition"], ["filter-label", "label"]
  ];
  if (document.getElementById("filter-safeguard")) { FILTERS.push(["filter-safeguard", "safeguard"]); }
  var list = document.getElementById("run-list");
  var count = document.getElementById("run-count");
  var detail = document.getElementById("run-detail");
  var selected = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function safeClass(s) { return String(s || "none").replace(/[^a-z0-9_-]/gi, "_"); }

  function monitorClass(turn) { return turn.monitor ? " monitor-" + safeClass(turn.monitor) : ""; }

  function matches(run) {
    for (var i = 0; i < FILTERS.length; i++) {
      var value = document.getElementById(FILTERS[i][0]).value;
      if (value !== "" && String(run[FILTERS[i][1]]) !== value) { return false; }
    }
    return true;
  }

  function renderList() {
    var shown = runs.filter(matches);
    list.replaceChildren();
    shown.forEach(function (run) {
      var li = el("li", "run-item");
      li.setAttribute("data-run-id", run.id);
      li.setAttribute("tabindex", "0");
      li.setAttribute("role", "button");
      if (run.id === selected) { li.classList.add("selected"); }
      li.appendChild(el("span", "badge label-" + safeClass(run.label), run.label.replace("_", " ")));
      var text = el("span", "run-text");
      text.appendChild(el("span", "run-model", run.model));
      text.appendChild(el("span", "run-scenario", run.scenario));
      text.appendChild(el("span", "run-cond", run.condition_short + " · rep " + run.repeat));
      li.appendChild(text);
      list.appendChild(li);
    });
    count.textContent = shown.length + " of " + runs.length + " runs";
  }

  function field(dl, name, value) {
    if (value === "" || value === null || value === undefined) { return; }
    dl.appendChild(el("dt", null, name));
    dl.appendChild(el("dd", null, value));
  }

  function block(parent, title, text, cls) {
    if (!text) { return; }
    var box = el("div", "turn-block");
    box.appendChild(el("div", "block-title", title));
    box.appendChild(el("pre", cls, text));
    parent.appendChild(box);
  }

  function prompt(parent, cls, title, text, isOpen) {
    if (!text) { return; }
    var box = el("details", "prompt " + cls);
    box.open = !!isOpen;
    box.appendChild(el("summary", null, title));
    box.appendChild(el("pre", "prompt-text", text));
    parent.appendChild(box);
  }

  function renderTurn(turn) {
    var row = el("div", "turn-row");
    row.id = "turn-" + turn.i;
    var cell = el("div", "risk-cell risk-" + safeClass(turn.risk) + monitorClass(turn), turn.i);
    cell.title = "turn " + turn.i + ": " + turn.risk + (turn.monitor ? ", monitor: " + turn.monitor : "");
    row.appendChild(cell);
    var box = el("div", "turn");
    var head = el("div", "turn-head");
    head.appendChild(el("span", "turn-index", "Turn " + turn.i));
    if (turn.tool) { head.appendChild(el("span", "tool-name", turn.tool + (turn.tool_id ? " [" + turn.tool_id + "]" : ""))); }
    if (turn.role) { head.appendChild(el("span", "tool-role role-" + safeClass(turn.role), turn.role)); }
    if (turn.track) { head.appendChild(el("span", "tool-track track-" + safeClass(turn.track), turn.track + " track")); }
    if (turn.parse_mode) { head.appendChild(el("span", "parse-mode", "parsed: " + turn.parse_mode)); }
    box.appendChild(head);
    block(box, "Agent reasoning", turn.reasoning, "turn-reasoning");
    block(box, "Model thinking", turn.thinking, "turn-thinking");
    block(box, "Raw agent reply", turn.raw, "turn-raw");
    block(box, "Parameters", turn.params, "turn-params");
    if (turn.monitor) {
      var mon = el("div", "turn-block turn-monitor");
      var mt = el("div", "block-title", "Action monitor ");
      mt.appendChild(el("span", "monitor-verdict verdict-" + safeClass(turn.monitor), turn.monitor));
      mon.appendChild(mt);
      if (turn.monitor_reason) { mon.appendChild(el("pre", "turn-monitor-reason", turn.monitor_reason)); }
      box.appendChild(mon);
    }
    if (turn.problem) { box.appendChild(el("div", "turn-problem", "Protocol error: " + turn.problem)); }
    turn.errors.forEach(function (e) { box.appendChild(el("div", "turn-error", e)); });
    if (turn.env_status || turn.observation) {
      var env = el("div", "turn-block turn-env");
      var t = el("div", "block-title", "Environment ");
      t.appendChild(el("span", "env-status status-" + safeClass(turn.env_status), turn.env_status));
      env.appendChild(t);
      env.appendChild(el("pre", "turn-observation", turn.observation));
      box.appendChild(env);
    }
    if (turn.updates.length) {
      var ub = el("div", "turn-block");
      ub.appendChild(el("div", "block-title", "World-state changes"));
      var ul = el("ul", "state-updates");
      turn.updates.forEach(function (u) {
        var li = el("li");
        li.appendChild(el("code", "state-key", u[0]));
        li.appendChild(document.createTextNode(" = "));
        li.appendChild(el("code", "state-value", u[1]));
        ul.appendChild(li);
      });
      ub.appendChild(ul);
      box.appendChild(ub);
    }
    row.appendChild(box);
    return row;
  }

  function open(id) {
    var run = byId[id];
    if (!run) { return; }
    selected = id;
    Array.prototype.forEach.call(list.querySelectorAll(".run-item"), function (li) {
      li.classList.toggle("selected", li.getAttribute("data-run-id") === id);
    });
    detail.replaceChildren();
    detail.setAttribute("data-run-id", id);
    detail.appendChild(el("h3", null, "Run " + run.id));
    var dl = el("dl", "run-meta");
    field(dl, "agent", run.model);
    field(dl, "agent model", run.agent_model);
    field(dl, "family", run.family);
    field(dl, "reasoning model", run.reasoning ? "yes" : "");
    field(dl, "environment", run.env_model);
    field(dl, "scenario", run.scenario + " (" + run.domain + ", " + run.motivation + ")");
    field(dl, "condition", run.condition);
    field(dl, "repeat / seed", run.repeat + " / " + run.seed);
    field(dl, "label", run.label);
    field(dl, "partial label", run.partial_label);
    field(dl, "first toxic turn", run.ttf);
    field(dl, "outcome", run.outcome);
    field(dl, "protocol", run.protocol);
    field(dl, "protocol errors", run.protocol_errors);
    if (run.safeguard && run.safeguard !== "none") { field(dl, "safeguards", run.safeguard); }
    field(dl, "run error", run.error);
    detail.appendChild(dl);
    prompt(detail, "prompt-system", "System prompt the agent saw", run.system_prompt, true);
    prompt(detail, "prompt-opening", "Opening message the agent saw (task and evidence)", run.opening, true);
    prompt(detail, "prompt-env", "Environment prompt (first environment call)", run.env_prompt, false);
    var strip = el("div", "risk-strip");
    strip.setAttribute("aria-label", "risk track");
    run.turns.forEach(function (turn) {
      var c = el("span", "risk-cell risk-" + safeClass(turn.risk) + monitorClass(turn), turn.i);
      c.title = "turn " + turn.i + ": " + turn.risk + (turn.role ? " (" + turn.role + ")" : "") +
        (turn.monitor ? ", monitor: " + turn.monitor : "");
      c.addEventListener("click", function () {
        var target = document.getElementById("turn-" + turn.i);
        if (target) { target.scrollIntoView({block: "nearest"}); }
      });
      strip.appendChild(c);
    });
    detail.appendChild(strip);
    var transcript = el("div", "transcript");
    if (!run.turns.length) { transcript.appendChild(el("p", "empty", "No turns recorded.")); }
    run.turns.forEach(function (turn) { transcript.appendChild(renderTurn(turn)); });
    detail.appendChild(transcript);
  }

  list.addEventListener("click", function (ev) {
    var li = ev.target.closest(".run-item");
    if (li) { open(li.getAttribute("data-run-id")); }
  });
  list.addEventListener("keydown", function (ev) {
    var li = ev.target.closest(".run-item");
    if (li && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); open(li.getAttribute("data-run-id")); }
  });
  FILTERS.forEach(function (f) { document.getElementById(f[0]).addEventListener("change", renderList); });
  document.getElementById("filter-reset").addEventListener("click", function () {
    FILTERS.forEach(function (f) { document.getElementById(f[0]).value = ""; });
    renderList();
  });
  renderList();
}());
