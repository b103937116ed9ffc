// nettwin dashboard: the SVG map (drawing, labels, zoom and pan, painting) and the live
// stream. Loaded after base.js (plain scripts sharing one global scope, no build step).
"use strict";

// ---------------------------------------------------------------- map
const svgNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, parent) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
const px = (x) => PAD + x * (W - 2 * PAD);
const py = (y) => PAD + y * (H - 2 * PAD);

function drawTopology() {
  const t = ui.topo;
  ui.pos = Object.fromEntries(t.nodes.map((n) => [n.id, [px(n.x), py(n.y)]]));
  const links = $("#links"), nodes = $("#nodes");
  links.replaceChildren(); nodes.replaceChildren(); $("#cells").replaceChildren(); $("#labels").replaceChildren();
  for (const lk of t.links) {
    const [x1, y1] = ui.pos[lk.a], [x2, y2] = ui.pos[lk.b];
    const len = Math.hypot(x2 - x1, y2 - y1) || 1;
    const ox = (-(y2 - y1) / len) * 2.6, oy = ((x2 - x1) / len) * 2.6;  // right of a->b
    const g = el("g", { "data-link": lk.id }, links);
    el("line", { x1, y1, x2, y2, class: "hit", "data-link": lk.id }, g);
    lk.arcs.forEach((arc, j) => {
      const s = j === 0 ? 1 : -1;
      const line = el("line", {
        x1: x1 + s * ox, y1: y1 + s * oy, x2: x2 + s * ox, y2: y2 + s * oy,
        class: "arc" + (lk.kind === "microwave" ? " mw" : ""), "data-arc": arc, "data-link": lk.id,
      }, g);
      el("title", {}, line).textContent = direction(arc);
    });
    if (lk.modulation) {
      const m = el("text", { x: (x1 + x2) / 2 + 3 * ox, y: (y1 + y2) / 2 + 3 * oy, class: "mod", "text-anchor": "middle", "data-mod": lk.id }, links);
      m.textContent = lk.modulation;
    }
    g.addEventListener("click", (ev) => { if (!ui.dragged) onLinkClick(lk.id); ev.stopPropagation(); });
  }
  const r = t.nodes.length > 150 ? 2.5 : 6;
  for (const n of t.nodes) {
    const [x, y] = ui.pos[n.id];
    const c = el("circle", { cx: x, cy: y, r, class: "node", "data-node": n.id }, nodes);
    el("title", {}, c).textContent = n.name;
    c.addEventListener("click", (ev) => { if (!ui.dragged) showElement("node", n.id); ev.stopPropagation(); });
  }
  applyZoom();
}

// Labels: each node's name goes where it overlaps no other label and no node (eight places
// tried around the node, busiest nodes first); a name that fits nowhere is left out (the
// node's tooltip still has it) and comes back when zooming in makes room.
function placeLabels() {
  const g = $("#labels");
  g.replaceChildren();
  if (!ui.topo) return;
  const k = ui.zoom.k, s = 1 / k, fs = 11 * s, cw = 6.1 * s, lh = 12 * s;
  const deg = {};
  for (const lk of ui.topo.links) { deg[lk.a] = (deg[lk.a] || 0) + 1; deg[lk.b] = (deg[lk.b] || 0) + 1; }
  const nodes = ui.topo.nodes.slice().sort((a, b) => (deg[b.id] || 0) - (deg[a.id] || 0));
  const boxes = nodes.map((n) => { const [x, y] = ui.pos[n.id]; return [x - 5 * s, y - 5 * s, x + 5 * s, y + 5 * s]; });
  const hit = (b) => boxes.some((o) => b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]);
  const [vx0, vy0, vx1, vy1] = visibleBox();
  for (const n of nodes) {
    const [x, y] = ui.pos[n.id];
    if (x < vx0 || x > vx1 || y < vy0 || y > vy1) continue;
    const spots = [[x + 8 * s, y + 4 * s, "start"], [x - 8 * s, y + 4 * s, "end"], [x, y - 9 * s, "middle"],
      [x, y + 17 * s, "middle"], [x + 7 * s, y - 7 * s, "start"], [x - 7 * s, y - 7 * s, "end"],
      [x + 7 * s, y + 15 * s, "start"], [x - 7 * s, y + 15 * s, "end"]];
    // measured, not guessed: the label's real width and height at this zoom
    const t = el("text", { x: spots[0][0], y: spots[0][1], "text-anchor": "start", class: "label", "data-label": n.id, "font-size": fs.toFixed(2), "stroke-width": (3 * s).toFixed(2) }, g);
    t.textContent = n.name;
    let w = cw * n.name.length, h = lh, top = -lh + 2 * s;
    try { const bb = t.getBBox(); if (bb.width > 0) { w = bb.width; h = bb.height; top = bb.y - spots[0][1]; } } catch (e) { /* not rendered */ }
    let placed = false;
    for (const [tx, ty, anchor] of spots) {
      const x0 = anchor === "start" ? tx : anchor === "end" ? tx - w : tx - w / 2;
      const box = [x0 - s, ty + top - s, x0 + w + s, ty + top + h + s];
      if (hit(box) || box[0] < vx0 || box[2] > vx1 || box[1] < vy0 || box[3] > vy1) continue;
      boxes.push(box);
      t.setAttribute("x", tx); t.setAttribute("y", ty); t.setAttribute("text-anchor", anchor);
      placed = true;
      break;
    }
    if (!placed) t.remove();
  }
  // Modulation tags: shown where they collide with no name and no other tag.
  $$("text.mod").forEach((m) => {
    m.setAttribute("font-size", (9 * s).toFixed(2)); m.setAttribute("stroke-width", (3 * s).toFixed(2));
    const x = +m.getAttribute("x"), y = +m.getAttribute("y"), w = 5.2 * s * m.textContent.length;
    const box = [x - w / 2, y - 9 * s, x + w / 2, y + 2 * s];
    const free = !boxes.some((o) => box[0] < o[2] && box[2] > o[0] && box[1] < o[3] && box[3] > o[1]);
    m.style.visibility = free ? "visible" : "hidden";
    if (free) boxes.push(box);
  });
}

// ---------------------------------------------------------------- zoom and pan
function visibleBox() {
  const { k, x, y } = ui.zoom;
  return [-x / k, -y / k, (W - x) / k, (H - y) / k];
}
function applyZoom() {
  const { k, x, y } = ui.zoom;
  $("#viewport").setAttribute("transform", `translate(${x.toFixed(2)} ${y.toFixed(2)}) scale(${k.toFixed(4)})`);
  const r = (ui.topo && ui.topo.nodes.length > 150 ? 2.5 : 6) / Math.pow(k, 0.7);
  $$("circle.node").forEach((c) => c.setAttribute("r", r.toFixed(2)));
  placeLabels();
}
function zoomAt(factor, cx = W / 2, cy = H / 2) {
  const z = ui.zoom;
  const k = Math.min(40, Math.max(1, z.k * factor));
  z.x = cx - (cx - z.x) * (k / z.k);
  z.y = cy - (cy - z.y) * (k / z.k);
  z.k = k;
  clampPan();
  applyZoom();
}
function clampPan() {
  const z = ui.zoom;
  z.x = Math.min(0, Math.max(W - W * z.k, z.x));
  z.y = Math.min(0, Math.max(H - H * z.k, z.y));
}
function svgPoint(ev) {
  const svg = $("#map");
  const p = svg.createSVGPoint();
  p.x = ev.clientX; p.y = ev.clientY;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}
function centreOn(x, y) {
  const z = ui.zoom;
  if (z.k < 2.5) z.k = 2.5;
  z.x = W / 2 - x * z.k; z.y = H / 2 - y * z.k;
  clampPan(); applyZoom();
}
function setupZoom() {
  const svg = $("#map");
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = svgPoint(ev);
    zoomAt(ev.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
  }, { passive: false });
  let start = null;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    const p = svgPoint(ev);
    start = { p, x: ui.zoom.x, y: ui.zoom.y };
    ui.dragged = false;
  });
  window.addEventListener("pointermove", (ev) => {
    if (!start) return;
    const p = svgPoint(ev);
    const dx = p.x - start.p.x, dy = p.y - start.p.y;
    if (!ui.dragged && Math.hypot(dx, dy) < 4) return;
    ui.dragged = true;
    svg.classList.add("panning");
    ui.zoom.x = start.x + dx; ui.zoom.y = start.y + dy;
    clampPan();
    $("#viewport").setAttribute("transform", `translate(${ui.zoom.x.toFixed(2)} ${ui.zoom.y.toFixed(2)}) scale(${ui.zoom.k.toFixed(4)})`);
  });
  window.addEventListener("pointerup", () => {
    if (start && ui.dragged) placeLabels();
    start = null; svg.classList.remove("panning");
    setTimeout(() => { ui.dragged = false; }, 0);
  });
  $("#zoom-in").addEventListener("click", () => zoomAt(1.5));
  $("#zoom-out").addEventListener("click", () => zoomAt(1 / 1.5));
  $("#zoom-reset").addEventListener("click", () => { ui.zoom = { k: 1, x: 0, y: 0 }; applyZoom(); });
}

// ---------------------------------------------------------------- painting
// util, up: per arc label; modes: per radio link. Records what is shown (the element panel
// reads it back so that its "map" column is exactly what the map says).
function paint(util, up, modes, what) {
  let max = 0, maxArc = null;
  $$("line.arc").forEach((line) => {
    const arc = line.dataset.arc;
    const u = util[arc], down = up[arc] === false, known = u != null && !Number.isNaN(u);
    line.style.stroke = known ? colour(u) : NO_DATA;  // never a green "0 %" for "not measured"
    line.classList.toggle("down", down);
    if (!down && u > max) { max = u; maxArc = arc; }
    line.querySelector("title").textContent = `${direction(arc)} (${linkOfArc(arc)}): ${down ? "down" : known ? pct(u) : "no data"} — ${what}`;
  });
  const shownModes = Object.assign({}, Object.fromEntries(ui.topo.links.filter((l) => l.modulation).map((l) => [l.id, l.modulation])), modes || {});
  let relabel = false;
  for (const [lid, name] of Object.entries(shownModes)) {
    const m = document.querySelector(`text.mod[data-mod="${CSS.escape(lid)}"]`);
    if (m && m.textContent !== name) { m.textContent = name; relabel = true; }
  }
  if (relabel) placeLabels();
  ui.view = { util, up, modes: shownModes, what };
  const anyKnown = Object.values(util).some((u) => u != null && !Number.isNaN(u));
  $("#max-util").textContent = anyKnown ? `max ${pct(max)}${maxArc ? " on " + linkOfArc(maxArc) : ""}` : "max — (no data)";
  markPicked();
}
function markPicked() {
  $$("line.arc.selected").forEach((l) => l.classList.remove("selected"));
  for (const lid of ui.failLinks) {
    $$(`line.arc[data-link="${CSS.escape(lid)}"]`).forEach((l) => l.classList.add("selected"));
  }
}
function markSelected() {
  $$("circle.node.selected").forEach((c) => c.classList.remove("selected"));
  $$("line.halo").forEach((l) => l.remove());
  const s = ui.selected;
  if (!s) return;
  if (s.kind === "node") document.querySelector(`circle.node[data-node="${CSS.escape(s.id)}"]`)?.classList.add("selected");
  if (s.kind === "link") {
    const hit = document.querySelector(`line.hit[data-link="${CSS.escape(s.id)}"]`);
    if (hit) {
      const h = el("line", { x1: hit.getAttribute("x1"), y1: hit.getAttribute("y1"), x2: hit.getAttribute("x2"), y2: hit.getAttribute("y2"), class: "halo", "data-halo": s.id });
      hit.parentNode.insertBefore(h, hit);
    }
  }
}

function basisLabel() { return ui.basis === "live" && ui.live ? "live" : "plan"; }
function setBadge(text) { $("#view-mode").textContent = text; $("#view-mode").title = text; }
function note(text) { $("#map-note").hidden = !text; $("#map-note").textContent = text || ""; }

// The base view: live utilisation, or the plan's (and saying why).
function paintBase() {
  ui.mode = "base";
  $$("line.arc.optimised").forEach((l) => l.classList.remove("optimised"));
  $("#back-live").hidden = true;
  $("#cells").replaceChildren();
  hideTimebar();
  if (ui.basis === "live" && ui.live) {
    const util = {}, up = {};
    for (const a of ui.live.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
    paint(util, up, ui.live.link_modes, `live ${clock(ui.live.time)}`);
    setBadge(`live · ${clock(ui.live.time)}`);
    note("");
  } else if (ui.plan) {
    const util = {}, up = {};
    for (const a of ui.plan.arcs) { util[a.arc] = a.utilisation; up[a.arc] = a.up; }
    paint(util, up, {}, "plan");
    if (ui.basis === "live") {
      setBadge("plan (no telemetry)");
      note("No live telemetry for this network yet: the map shows the planned utilisation " +
        "(static traffic matrix), and what-if and N-1 run on the plan.");
    } else {
      setBadge("plan");
      note("");
    }
  }
  $$(".basis-name").forEach((b) => { b.textContent = basisLabel() === "live" ? "live" : "planned"; });
  if (ui.selected) refreshElementColumns();
}

function showResult(mode, badge) {
  ui.mode = mode;
  $$("line.arc.optimised").forEach((l) => l.classList.remove("optimised"));
  setBadge(badge);
  $("#back-live").hidden = false;
  $("#back-live").textContent = `back to ${basisLabel()}`;
  note("");
}

// Drop every analysis result (another network, another basis, or changed inputs).
function clearResults() {
  $("#whatif-result").innerHTML = "";
  $("#n1-result").innerHTML = ""; $("#n1-status").textContent = "";
  $("#storm-result").innerHTML = "";
  $("#history-result").innerHTML = "";
  $("#qos-result").innerHTML = "";
  $("#opt-result").innerHTML = ""; ui.extraChanges = null; $("#whatif-extra").hidden = true;
  ui.frames = null; ui.n1Job = null; ui.generation += 1;
  if (ui.topo) paintBase();
}

function hideTimebar() { $("#timebar").hidden = true; ui.timebar = null; }
function showTimebar(label, n, value, onInput, fmt) {
  const r = $("#timebar-range");
  $("#timebar").hidden = false;
  $("#timebar-label").textContent = label;
  r.max = String(n - 1); r.value = String(value);
  ui.timebar = { onInput, fmt };
  $("#timebar-value").textContent = fmt(value);
}

// ---------------------------------------------------------------- live stream
async function openStream(nid) {
  if (ui.stream) ui.stream.abort();
  const ctrl = new AbortController();
  ui.stream = ctrl;
  try {
    const res = await fetch(`${API}/networks/${nid}/stream`, {
      headers: { Authorization: `Bearer ${ui.token}` }, signal: ctrl.signal,
    });
    if (!res.ok) throw new Error(res.statusText);
    $("#live-status").classList.add("on");
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, i); buf = buf.slice(i + 2);
        const event = (chunk.match(/^event: (.*)$/m) || [])[1];
        const data = (chunk.match(/^data: (.*)$/m) || [])[1];
        if (event && data) onEvent(event, JSON.parse(data));
      }
    }
  } catch (e) {
    if (ctrl.signal.aborted) return;
  } finally {
    if (ui.stream === ctrl) $("#live-status").classList.remove("on");
  }
  if (!ctrl.signal.aborted) setTimeout(() => ui.nid === nid && openStream(nid), 3000);
}

function onEvent(event, data) {
  if (event === "state" && data.network_id === ui.nid) {
    const first = !ui.live;
    ui.live = data;
    if (ui.mode === "base") paintBase();
    else if (first) $("#back-live").textContent = `back to ${basisLabel()}`;
  } else if (event === "alarm") {
    clearTimeout(ui.alarmTimer);
    ui.alarmTimer = setTimeout(loadAlarms, 300);
  }
}
