// nettwin dashboard: the Why panel (issue 17). From an alarm (the "why?" button this module
// adds to every alarm row) or from the last minutes, POST .../diagnose on the live twin's
// history: candidate faults replayed by the engine, ranked by how well they explain what
// the network reported. The panel lists the causes with their confidence, the evidence each
// explains and leaves unexplained, and the top cause's fault chain; the map marks the
// elements of the cause picked (the top one first; click a row for another).
// Loaded after panels.js; binds its own events (no inline handlers: strict CSP).
"use strict";

const why = { result: null, picked: 0 };

// Every alarm row gets a "why?" button (the alarms table is re-rendered often: watch it).
function decorateAlarmRows() {
  for (const cell of $$("#alarms-table tbody tr[data-alarms] td.actions")) {
    if (cell.querySelector("button.why")) continue;
    const b = document.createElement("button");
    b.className = "why";
    b.textContent = "why?";
    b.title = "root cause: replay candidate faults against what the network reported since shortly before this alarm";
    cell.append(b);
  }
}

function whyWindowS() { return 60 * Math.max(1, parseFloat($("#why-minutes").value) || 30); }

async function whyFromAlarm(row) {
  const ids = new Set(row.dataset.alarms.split(" "));
  const mine = ui.alarms.filter((a) => ids.has(a.id));
  const raised = Math.min(...mine.map((a) => toDate(a.alarmRaisedTime).getTime() / 1000));
  const obj = row.querySelector("a.goto")?.dataset.object || "";
  tab("why");
  await runWhy(raised - whyWindowS(), `alarm on ${obj} at ${clock(raised)}`);
}

async function runWhy(since, what) {
  const box = $("#why-result"), status = $("#why-status"), gen = ui.generation, nid = ui.nid;
  box.innerHTML = ""; why.result = null; clearWhyMarks();
  status.textContent = `diagnosing ${what}…`;
  $("#why-run").disabled = true;
  try {
    const res = await api(`${API}/networks/${nid}/diagnose`, { method: "POST", body: { since, top: 5 } });
    if (gen !== ui.generation || nid !== ui.nid) return;
    why.result = res; why.what = what; why.picked = 0;
    status.textContent = "";
    renderWhy();
  } catch (e) {
    status.textContent = "";
    box.innerHTML = `<p class="error" id="why-error">${esc(e.message)}</p>`;
  } finally {
    $("#why-run").disabled = false;
  }
}

function renderWhy() {
  const d = why.result;
  const rows = d.causes.map((c, i) => Object.assign({ rank: i + 1, n_explains: c.explains.length, n_unexplained: c.unexplained.length }, c));
  const c = d.causes[why.picked];
  const list = (xs) => (xs.length ? `<ul>${xs.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : '<p class="hint">none</p>');
  $("#why-result").innerHTML = `<p class="hint" id="why-summary">${esc(why.what)}: ${d.candidates} candidate faults
      replayed in ${(1000 * d.elapsed_s).toFixed(0)} ms; onset ${esc(clock(d.onset))}.</p>
    ${table(rows, [["#", "rank", null, 1], ["kind", "kind"], ["element", "element"], ["confidence", "confidence", pct, 1],
      ["explains", "n_explains", null, 1], ["unexplained", "n_unexplained", null, 1]], "why-table", { name: "why-causes" })}
    ${c ? `<h4 id="why-picked">${esc(c.kind)} ${esc(c.element)}${c.equivalent.length ? ` <span class="hint">(or ${esc(c.equivalent.join(", "))}: equally explained)</span>` : ""}</h4>
    ${c.chain.length ? `<p id="why-chain">${c.chain.map(esc).join(" → ")}</p>` : ""}
    <div class="row"><div><b>explains</b>${list(c.explains)}</div><div><b>does not explain</b>${list(c.unexplained)}</div></div>` : ""}`;
  $$("#why-table tbody tr").forEach((tr) => {
    tr.dataset.cause = String(parseInt(tr.cells[0].textContent, 10) - 1);  // its rank (sortable table)
    tr.classList.toggle("on", tr.dataset.cause === String(why.picked));
  });
  markWhy(c);
}

// The cause's elements on the map: its link, or its node and that node's links, or (an
// SRLG) the links its evidence names.
function causeLinks(c) {
  const links = new Set(), nodes = new Set();
  if (!c || c.kind === "none") return { links, nodes };
  const ids = new Set(ui.topo.links.map((l) => l.id));
  if (ids.has(c.element)) links.add(c.element);
  if (ui.names[c.element]) {
    nodes.add(c.element);
    if (c.kind === "node_down") for (const l of ui.topo.links) if (l.a === c.element || l.b === c.element) links.add(l.id);
  }
  if (c.kind === "srlg_down") for (const x of c.explains) for (const id of ids) if (x.endsWith(` ${id}`)) links.add(id);
  return { links, nodes };
}

function clearWhyMarks() {
  $$("line.arc.why").forEach((l) => l.classList.remove("why"));
  $$("circle.node.why").forEach((n) => n.classList.remove("why"));
}

function markWhy(c) {
  clearWhyMarks();
  const { links, nodes } = causeLinks(c);
  $$("line.arc").forEach((l) => l.classList.toggle("why", links.has(l.dataset.link)));
  $$("circle.node").forEach((n) => n.classList.toggle("why", nodes.has(n.dataset.node)));
}

window.addEventListener("DOMContentLoaded", () => {
  new MutationObserver(decorateAlarmRows).observe($("#alarms-box"), { childList: true, subtree: true });
  $("#alarms-box").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.why");
    if (b) whyFromAlarm(b.closest("tr[data-alarms]"));
  });
  $("#why-run").addEventListener("click", () => runWhy(Date.now() / 1000 - whyWindowS(), `the last ${Math.round(whyWindowS() / 60)} min`));
  $("#why-result").addEventListener("click", (ev) => {
    const tr = ev.target.closest("#why-table tbody tr[data-cause]");
    if (!tr || !why.result) return;
    why.picked = parseInt(tr.dataset.cause, 10);
    renderWhy();
  });
});
