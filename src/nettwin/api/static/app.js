// nettwin dashboard: warm-up badge, upload, network selection, sign-in and the wiring of
// every control. Loaded last.
"use strict";

// ---------------------------------------------------------------- warm-up
async function pollWarmup() {
  try {
    ui.warm = await api(`${API}/warmup`);
  } catch (e) { return; }
  const w = ui.warm, badge = $("#warmup");
  badge.hidden = w.state !== "warming";
  badge.textContent = `warming up: ${w.running || "starting"} (${w.done.length}/${w.steps.length})`;
  if (w.state === "warming") setTimeout(pollWarmup, 1500);
}

// ---------------------------------------------------------------- upload
async function uploadNetwork(file) {
  const msg = $("#upload-msg");
  msg.hidden = false; msg.className = ""; msg.textContent = `reading ${file.name}…`;
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const d = await api(`${API}/networks`, { method: "POST", body: form });
    await listNetworks(d.id);
    msg.innerHTML = '<button id="upload-msg-close" title="dismiss">×</button>';
    msg.append(`added ${d.name}: ${d.nodes} nodes, ${d.links} links, ${d.demands} demands` +
      (d.notes.length ? ` — ${d.notes.length} default(s) applied: ${d.notes.slice(0, 3).join(" ")}${d.notes.length > 3 ? " …" : ""}` : ""));
  } catch (e) {
    msg.className = "error";
    msg.innerHTML = '<button id="upload-msg-close" title="dismiss">×</button>';
    msg.append(`could not add ${file.name}: ${e.message}`);
  }
}

// ---------------------------------------------------------------- shell
function tab(name) {
  $$("aside nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  $(`aside nav button[data-tab="${name}"]`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  $$(".panel").forEach((p) => { p.hidden = p.id !== `panel-${name}`; });
  if (name === "alarms") loadAlarms();
}

async function selectNetwork(nid) {
  ui.nid = nid; ui.live = null; ui.plan = null; ui.failLinks.clear(); ui.selected = null; ui.element = null;
  ui.alarms = []; ui.zoom = { k: 1, x: 0, y: 0 };
  $("#element").innerHTML = ""; $("#element-hint").hidden = false;
  $("#alarms-box").innerHTML = ""; $("#alarm-count").textContent = "";
  for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).value = "";
  $("#whatif-scale").value = "1";
  $("#whatif-links").textContent = "none";
  clearResults();
  ui.topo = await api(`${API}/networks/${nid}/topology`);
  if (ui.nid !== nid) return;
  const t = ui.topo;
  ui.names = Object.fromEntries(t.nodes.map((n) => [n.id, n.name]));
  ui.arcOrder = t.links.flatMap((l) => l.arcs);
  ui.arcLink = Object.fromEntries(t.links.flatMap((l) => l.arcs.map((a) => [a, l.id])));
  ui.arcCap = Object.fromEntries(t.links.flatMap((l) => [[l.arcs[0], l.capacity_ab_bps], [l.arcs[1], l.capacity_ba_bps]]));
  $("#net-summary").textContent = `${t.nodes.length} nodes, ${t.links.length} links${t.geographic ? "" : " (layout)"}`;
  const opts = '<option value="">—</option>' + t.nodes.map((n) => `<option value="${esc(n.id)}">${esc(n.name)}</option>`).join("");
  for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).innerHTML = opts;
  const radio = t.links.some((l) => l.modulation);
  $("[data-tab=storm]").disabled = !radio;
  $("[data-tab=storm]").title = radio ? "" : "no microwave links in this network";
  if (t.geographic && t.nodes.length) {
    const lat = t.nodes.reduce((s, n) => s + n.latitude, 0) / t.nodes.length;
    const lon = t.nodes.reduce((s, n) => s + n.longitude, 0) / t.nodes.length;
    $("#storm-lat").value = lat.toFixed(3); $("#storm-lon").value = lon.toFixed(3);
  }
  fillSearch();
  fillQos();
  drawTopology();
  const [plan, live] = await Promise.all([
    api(`${API}/networks/${nid}/basis?kind=plan`).catch(() => null),
    api(`${API}/networks/${nid}/state`).catch(() => null),
  ]);
  if (ui.nid !== nid) return;
  ui.plan = plan;
  ui.live = ui.live || live || await mirroredState(nid);
  paintBase();
  loadAlarms();
  openStream(nid);
}

// Without a telemetry feed, the live twin's mirrored counters (observations ingested over
// the API or a bus) are the live state; refreshed every 10 s while that is the source.
async function mirroredState(nid) {
  let snap = null;
  try { snap = await api(`${API}/networks/${nid}/live`); } catch (e) { return null; }
  if (!snap || !snap.samples || ui.nid !== nid) return null;
  clearTimeout(ui.mirrorTimer);
  ui.mirrorTimer = setTimeout(async () => {
    if (ui.nid !== nid || (ui.live && !ui.live.mirrored)) return;
    const next = await mirroredState(nid);
    if (next && ui.nid === nid) { ui.live = next; if (ui.mode === "base") paintBase(); }
  }, 10000);
  return {
    mirrored: true, network_id: nid, time: snap.time,
    arcs: snap.arcs.map((a) => ({ arc: a.arc, utilisation: a.utilisation, up: a.up })),
    link_modes: Object.fromEntries(Object.entries(snap.modulation || {}).filter(([, v]) => v)),
  };
}

async function listNetworks(want) {
  const nets = await api(`${API}/networks`);
  ui.nets = nets;
  const count = {};
  for (const n of nets) count[n.name] = (count[n.name] || 0) + 1;
  $("#network").innerHTML = nets.map((n) => `<option value="${esc(n.id)}">${esc(n.name)}${count[n.name] > 1 ? ` (${esc(n.id.slice(0, 6))})` : ""} — ${n.nodes} nodes</option>`).join("");
  const first = nets.find((n) => n.id === want) || nets[0];
  if (first) { $("#network").value = first.id; await selectNetwork(first.id); }
}

async function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  pollWarmup();
  await listNetworks(new URLSearchParams(location.search).get("network"));
}

function signOut(message) {
  sessionStorage.removeItem("nettwin-token");
  ui.token = null;
  if (ui.stream) ui.stream.abort();
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
}

async function signIn(token) {
  ui.token = token;
  try {
    await api(`${API}/networks`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.message !== "unauthorised") signOut(e.message);
    return;
  }
  sessionStorage.setItem("nettwin-token", token);
  await start();
}

function setBasis(b) {
  if (ui.basis === b) return;
  ui.basis = b;
  $$("#basis button").forEach((x) => { x.classList.toggle("on", x.dataset.basis === b); x.setAttribute("aria-checked", String(x.dataset.basis === b)); });
  clearResults();  // results on the other basis would now mislead
}

window.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("#token").value.trim()); });
  $("#logout").addEventListener("click", () => signOut());
  $("#network").addEventListener("change", (ev) => selectNetwork(ev.target.value));
  $("#back-live").addEventListener("click", () => paintBase());
  $$("#basis button").forEach((b) => b.addEventListener("click", () => setBasis(b.dataset.basis)));
  $$("aside nav button").forEach((b) => b.addEventListener("click", () => tab(b.dataset.tab)));
  $("aside nav").addEventListener("wheel", (ev) => {  // a vertical wheel scrolls the bar sideways
    const nav = ev.currentTarget;
    if (nav.scrollWidth <= nav.clientWidth || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) return;
    nav.scrollLeft += ev.deltaY; ev.preventDefault();
  }, { passive: false });
  $("#upload-btn").addEventListener("click", () => $("#upload-file").click());
  $("#upload-msg").addEventListener("click", (ev) => { if (ev.target.id === "upload-msg-close") $("#upload-msg").hidden = true; });
  $("#upload-file").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) uploadNetwork(f); ev.target.value = ""; });
  $("#search").addEventListener("change", (ev) => runSearch(ev.target.value));
  $("#search").addEventListener("keydown", (ev) => { if (ev.key === "Enter") runSearch(ev.target.value); });
  for (const id of ["#alarms-cleared", "#alarms-severity"]) $(id).addEventListener("change", renderAlarms);
  $("#alarms-search").addEventListener("input", renderAlarms);
  $("#alarms-box").addEventListener("click", (ev) => {
    const th = ev.target.closest("th[data-asort]");
    if (th) {
      const k = th.dataset.asort;
      ui.alarmSort = { key: k, dir: ui.alarmSort.key === k ? -ui.alarmSort.dir : 1 };
      renderAlarms();
      return;
    }
    const go = ev.target.closest("a.goto");
    if (go) {
      ev.preventDefault();
      const o = go.dataset.object;
      if (ui.topo.links.some((l) => l.id === o)) showElement("link", o);
      else if (ui.names[o]) showElement("node", o);
      else if (ui.topo.services.some((s) => s.id === o)) showService(o);
      return;
    }
    const row = ev.target.closest("tr[data-alarm]");
    if (!row) return;
    const ids = row.dataset.alarms.split(" ");
    if (ev.target.classList.contains("ack")) patchAlarms(ids, { ackState: "acknowledged" });
    if (ev.target.classList.contains("clear")) patchAlarms(ids, { state: "cleared" });
  });
  document.addEventListener("click", (ev) => {
    const csv = ev.target.closest("button[data-csv]");
    if (csv) { downloadCsv(csv.dataset.csv); return; }
    const th = ev.target.closest(".tbl[data-table] th[data-sort]");
    if (th) sortTable(th.closest(".tbl").dataset.table, th.dataset.sort);
  });
  $("#whatif-run").addEventListener("click", runWhatif);
  for (const id of ["#whatif-node", "#whatif-drain", "#whatif-scale", "#surge-src", "#surge-dst", "#surge-gbps"]) {
    $(id).addEventListener("input", whatifInputsChanged);
  }
  $("#whatif-reset").addEventListener("click", () => {
    ui.failLinks.clear(); $("#whatif-links").textContent = "none";
    for (const id of ["#whatif-node", "#whatif-drain", "#surge-src", "#surge-dst"]) $(id).value = "";
    $("#whatif-scale").value = "1"; $("#whatif-result").innerHTML = "";
    ui.extraChanges = null; $("#whatif-extra").hidden = true;
    if (ui.mode === "whatif") paintBase(); else markPicked();
  });
  $("#n1-run").addEventListener("click", runN1);
  $("#storm-run").addEventListener("click", runStorm);
  $("#history-open").addEventListener("click", openHistory);
  $("#qos-run").addEventListener("click", runQos);
  $("#timebar-range").addEventListener("input", (ev) => {
    const k = parseInt(ev.target.value, 10);
    if (ui.timebar) { $("#timebar-value").textContent = ui.timebar.fmt(k); ui.timebar.onInput(k); }
  });
  setupZoom();
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) history.replaceState(null, "", location.pathname + location.search);
  const token = fromHash || sessionStorage.getItem("nettwin-token");
  if (token) signIn(token); else signOut();
});
