/* s2ws web UI: read-only views over the server's JSON API, kept live by server-sent events.
   Client-side buffers are bounded (MAX_ROWS messages), so a page left open for days stays responsive. */
"use strict";
(function () {
  const MAX_ROWS = 2000;
  const REFRESH_MS = 2000;
  const token = new URLSearchParams(location.hash.slice(1)).get("token") ||
    new URLSearchParams(location.search).get("token") || "";
  const state = { messages: [], rules: {}, view: "messages", mode: "live", upTo: null, expanded: new Set(),
    sessions: [], devices: [], energy: null, dirty: true, lastSeq: 0 };
  const $ = (id) => document.getElementById(id);

  function api(path) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    return fetch(path, { headers: headers, cache: "no-store" }).then((r) => {
      if (!r.ok) throw new Error(path + ": " + r.status);
      return r.json();
    });
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  /* ---------- tabs ---------- */
  function show(view) {
    state.view = view;
    for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
    for (const s of document.querySelectorAll(".view")) s.classList.toggle("active", s.id === "view-" + view);
    location.hash = token ? "view=" + view + "&token=" + encodeURIComponent(token) : "view=" + view;
    refresh();
  }

  /* ---------- messages ---------- */
  function addMessages(items) {
    for (const m of items) {
      if (m.seq <= state.lastSeq) {  // a finding added later (a message nobody answered)
        const old = state.messages.find((x) => x.seq === m.seq);
        if (old) old.findings = m.findings;
        continue;
      }
      state.messages.push(m);
      state.lastSeq = m.seq;
    }
    if (state.messages.length > MAX_ROWS) state.messages.splice(0, state.messages.length - MAX_ROWS);
    state.dirty = true;
    updateSlider();
  }

  function filters() {
    const v = (id) => $(id).value.trim();
    return { session: v("f-session"), device: v("f-device").toLowerCase(), type: v("f-type").toLowerCase(),
      dir: v("f-dir"), status: v("f-status"), rule: v("f-rule").toUpperCase(), findings: $("f-findings").checked };
  }

  function matches(m, f) {
    if (f.session && m.session !== f.session) return false;
    if (f.device && !(m.device || "").toLowerCase().includes(f.device)) return false;
    if (f.type && !(m.type || "").toLowerCase().includes(f.type)) return false;
    if (f.dir && m.dir !== f.dir) return false;
    if (f.status && m.status !== f.status) return false;
    if (f.rule && !m.findings.some((x) => x.rule.includes(f.rule))) return false;
    if (f.findings && !m.findings.length) return false;
    if (state.upTo !== null && m.seq > state.upTo) return false;
    return true;
  }

  function renderMessages() {
    const f = filters();
    const body = $("messages").tBodies[0];
    const rows = state.messages.filter((m) => matches(m, f));
    const shown = rows.slice(-500).reverse();
    const out = document.createDocumentFragment();
    for (const m of shown) {
      const errors = m.findings.some((x) => x.severity === "error");
      const tr = el("tr", { class: "msg" + (errors ? " bad" : m.findings.length ? " warn" : ""), "data-seq": m.seq },
        el("td", { text: m.seq }), el("td", { text: m.t.replace("T", " ").slice(0, 23) }),
        el("td", { text: m.session }), el("td", { text: m.device || "" }), el("td", { text: m.dir }),
        el("td", { text: m.type || "(unreadable)" }), el("td", { text: m.status || "" }),
        el("td", { class: "findings" }, ...m.findings.map((x) =>
          el("span", { class: "finding " + x.severity, title: x.reason, text: x.rule }))));
      tr.addEventListener("click", () => {
        if (state.expanded.has(m.seq)) state.expanded.delete(m.seq); else state.expanded.add(m.seq);
        state.dirty = true;
        renderMessages();
      });
      out.append(tr);
      if (state.expanded.has(m.seq)) out.append(detailRow(m));
    }
    body.replaceChildren(out);
    $("msg-count").textContent = rows.length + " of " + state.messages.length + " message(s)" +
      (rows.length > shown.length ? ", newest " + shown.length + " shown" : "");
    const sel = $("f-session");
    const known = new Set(Array.from(sel.options).map((o) => o.value));
    for (const m of state.messages) {
      if (!known.has(m.session)) { sel.append(el("option", { value: m.session, text: m.session })); known.add(m.session); }
    }
  }

  function detailRow(m) {
    const td = el("td", { colspan: "8" });
    for (const x of m.findings) {
      const rule = state.rules[x.rule];
      td.append(el("div", { class: "rule-text" },
        el("strong", { text: x.rule + " (" + x.severity + ") at " + (x.pointer || "/") + ": " }), x.reason,
        rule ? el("div", { class: "statement", text: "Rule: " + rule.statement }) : null));
    }
    const pointers = new Set(m.findings.map((x) => x.pointer || ""));
    let parsed = null;
    try { parsed = JSON.parse(m.text); } catch (e) { parsed = undefined; }
    const pre = el("pre", { class: "json" });
    if (parsed === undefined) pre.textContent = m.text; else renderJson(pre, parsed, "", 0, pointers);
    td.append(pre);
    return el("tr", { class: "detail" }, td);
  }

  function esc(key) { return String(key).replace(/~/g, "~0").replace(/\//g, "~1"); }

  function renderJson(parent, value, path, depth, hits) {
    const pad = "  ".repeat(depth);
    const target = hits.has(path) && path !== "" ? el("span", { class: "hit", "data-pointer": path }) : parent;
    if (target !== parent) parent.append(target);
    if (Array.isArray(value)) {
      target.append("[\n");
      value.forEach((v, i) => {
        target.append(pad + "  ");
        renderJson(target, v, path + "/" + i, depth + 1, hits);
        target.append(i < value.length - 1 ? ",\n" : "\n");
      });
      target.append(pad + "]");
    } else if (value !== null && typeof value === "object") {
      const keys = Object.keys(value);
      target.append("{\n");
      keys.forEach((k, i) => {
        target.append(pad + "  " + JSON.stringify(k) + ": ");
        renderJson(target, value[k], path + "/" + esc(k), depth + 1, hits);
        target.append(i < keys.length - 1 ? ",\n" : "\n");
      });
      target.append(pad + "}");
    } else {
      target.append(JSON.stringify(value));
    }
    const missing = [...hits].filter((p) => p && p.startsWith(path + "/") && depth === 0 && !pointerExists(value, p));
    for (const p of missing) parent.append(el("div", { class: "hit", "data-pointer": p, text: "missing: " + p }));
  }

  function pointerExists(root, pointer) {
    let node = root;
    for (const part of pointer.split("/").slice(1)) {
      const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
      if (node === null || typeof node !== "object" || !(key in node)) return false;
      node = node[key];
    }
    return true;
  }

  /* ---------- sessions ---------- */
  function renderSessions() {
    const body = $("sessions").tBodies[0];
    body.replaceChildren(...state.sessions.map((s) => {
      const link = el("a", { href: "api/sessions/" + encodeURIComponent(s.id) + "/transcript", text: "download" });
      link.addEventListener("click", (ev) => { ev.preventDefault(); download(s.id); });
      return el("tr", { class: s.errors ? "bad" : "", "data-session": s.id },
        el("td", { text: s.id }), el("td", { text: s.device || "" }), el("td", { text: s.state }),
        el("td", { text: s.version || "" }), el("td", { text: s.peer || "" }), el("td", { text: s.started }),
        el("td", { text: s.frames["cem>rm"] }), el("td", { text: s.frames["rm>cem"] }), el("td", { text: s.errors }),
        el("td", { text: s.warnings }), el("td", { text: s.refused }),
        el("td", { text: s.ended ? s.ended + " (" + (s.reason || "") + ")" : "" }),
        el("td", { class: "transcript" }, link, el("div", { class: "note", text: transcriptNote(s) })));
    }));
  }

  /* where a download comes from: complete, or which part of the session only (the server's ring) */
  function transcriptNote(s) {
    const seen = s.frames["cem>rm"] + s.frames["rm>cem"];
    if (s.transcript === "recording") return "complete, from the recorded file";
    if (s.transcript === "ring") return "complete (" + s.held + " frames in memory)";
    if (s.transcript === "history+ring") return "the history's kept messages, then the newest " + s.held + " of " + seen + " frames";
    return "only the newest " + s.held + " of " + seen + " frames (no --record)";
  }

  function download(session) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    fetch("api/sessions/" + encodeURIComponent(session) + "/transcript", { headers: headers })
      .then((r) => r.blob()).then((blob) => {
        const a = el("a", { href: URL.createObjectURL(blob), download: "session-" + session + ".jsonl" });
        document.body.append(a); a.click(); a.remove();
      });
  }

  /* ---------- devices ---------- */
  function renderDevices() {
    const box = $("devices");
    if (!state.devices.length) { box.replaceChildren(el("p", { class: "note", text: "No device has connected yet." })); return; }
    box.replaceChildren(...state.devices.map((d) => {
      const det = d.details || {};
      const instr = el("table", { class: "instructions" },
        el("thead", {}, el("tr", {}, el("th", { text: "instruction" }), el("th", { text: "type" }),
          el("th", { text: "sent" }), el("th", { text: "execution time" }), el("th", { text: "status timeline" }),
          el("th", { text: "reason" }))),
        el("tbody", {}, ...d.instructions.slice().reverse().map((i) => el("tr", {},
          el("td", { text: (i.id || "").slice(0, 8) }), el("td", { text: i.type }), el("td", { text: i.sent }),
          el("td", { text: i.execution_time || "" }),
          el("td", { class: "statuses" }, ...i.statuses.map((s) =>
            el("span", { class: String(s[1]).startsWith("REFUSED") ? "refused" : s[1], title: s[0], text: s[1] }))),
          el("td", { text: i.reason || "" })))));
      return el("div", { class: "device", "data-session": d.session },
        el("h2", { text: d.name || d.session }),
        el("dl", {},
          el("dt", { text: "session" }), el("dd", { text: d.session + " (" + d.state + ")" }),
          el("dt", { text: "resource id" }), el("dd", { text: det.resource_id || "" }),
          el("dt", { text: "manufacturer / model" }), el("dd", { text: [det.manufacturer, det.model].filter(Boolean).join(" / ") }),
          el("dt", { text: "roles" }), el("dd", { text: (det.roles || []).map((r) => r.role + " " + r.commodity).join(", ") }),
          el("dt", { text: "offered control types" }), el("dd", { text: (det.available_control_types || []).join(", ") }),
          el("dt", { text: "control type" }), el("dd", { class: "control-type", text: d.control_type || "none selected" }),
          el("dt", { text: "description in force" }),
          el("dd", {}, d.description ? el("details", {}, el("summary", { text: d.description.message_type + " of " + d.description_at }),
            el("pre", { text: JSON.stringify(d.description, null, 2) })) : "none")),
        el("h3", { text: "Instructions" }), instr);
    }));
  }

  /* ---------- energy ---------- */
  function cut(points) {
    if (state.upTo === null) return points;
    const limit = state.upToTime;
    return points.filter((p) => p[0] <= limit);
  }

  function renderEnergy() {
    const note = $("energy-note");
    if (!window.Plotly) { note.textContent = "Charts need the plotly package on the server."; return; }
    const e = state.energy;
    if (!e) return;
    // the past from the SQLite history where the server keeps one, then what this page saw live
    for (const d of e.devices) {
      if (d.past && d.past.length) {
        const first = d.power.length ? d.power[0][0] : "\uffff";
        d.power = d.past.filter((p) => p[0] < first).concat(d.power);
      }
    }
    const power = e.devices.filter((d) => d.power.length).map((d) => {
      const pts = cut(d.power);
      return { name: d.name || d.session, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]), mode: "lines+markers",
        type: "scatter", line: { shape: "hv" } };
    });
    const fills = [];
    for (const d of e.devices.filter((x) => x.fill.length)) {
      const pts = cut(d.fill);
      fills.push({ name: (d.name || d.session) + " fill level", x: pts.map((p) => p[0]), y: pts.map((p) => p[1]),
        mode: "lines+markers", type: "scatter" });
      if (d.fill_range && pts.length) {
        const xs = [pts[0][0], pts[pts.length - 1][0]];
        for (const [i, bound] of d.fill_range.entries()) {
          fills.push({ name: (d.name || d.session) + (i ? " max" : " min"), x: xs, y: [bound, bound], mode: "lines",
            type: "scatter", line: { dash: "dot", width: 1 } });
        }
      }
    }
    const modes = e.devices.filter((d) => d.modes.length).map((d) => {
      const pts = cut(d.modes);
      return { name: d.name || d.session, x: pts.map((p) => p[0]), y: pts.map(() => d.name || d.session),
        text: pts.map((p) => p[1].slice(0, 8)), mode: "markers", type: "scatter", hoverinfo: "x+text" };
    });
    const planned = e.planned;
    if (planned) {
      for (const [name, d] of Object.entries(planned.devices)) {
        power.push({ name: name + " (plan)", x: planned.steps, y: d.power_w, mode: "lines", type: "scatter",
          line: { shape: "hv", dash: "dash", width: 1 } });
        if (d.fill_level) {
          fills.push({ name: name + " fill (plan)", x: planned.steps, y: d.fill_level, mode: "lines", type: "scatter",
            line: { dash: "dash", width: 1 } });
        }
      }
    }
    const site = [];
    // the sum of every device's latest measurement, stepping at each new one
    const events = [];
    e.devices.forEach((d, i) => { for (const [t, w] of cut(d.power)) events.push([t, i, w]); });
    events.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const latest = new Map();
    const sumX = [], sumY = [];
    for (const [t, i, w] of events) {
      latest.set(i, w);
      let total = 0;
      for (const v of latest.values()) total += v;
      sumX.push(t); sumY.push(total);
    }
    site.push({ name: "devices measured (sum)", x: sumX, y: sumY, mode: "lines", type: "scatter", line: { shape: "hv" } });
    if (planned) {
      site.push({ name: "site import (plan)", x: planned.steps, y: planned.site_import_w, mode: "lines", type: "scatter",
        line: { shape: "hv", dash: "dash" } });
      site.push({ name: "import price", x: planned.steps, y: planned.import_price, yaxis: "y2", mode: "lines",
        type: "scatter", line: { shape: "hv", color: "#999" } });
      site.push({ name: "export price", x: planned.steps, y: planned.export_price, yaxis: "y2", mode: "lines",
        type: "scatter", line: { shape: "hv", color: "#ccc" } });
    }
    const pebc = [];
    for (const d of e.devices.filter((x) => x.envelope.length || x.forecast.length)) {
      const name = d.name || d.session;
      if (d.envelope.length) {
        pebc.push({ name: name + " envelope lower", x: d.envelope.map((p) => p[0]), y: d.envelope.map((p) => p[1]),
          mode: "lines", type: "scatter", line: { shape: "hv", dash: "dot" } });
        pebc.push({ name: name + " envelope upper", x: d.envelope.map((p) => p[0]), y: d.envelope.map((p) => p[2]),
          mode: "lines", type: "scatter", line: { shape: "hv", dash: "dot" } });
      }
      if (d.forecast.length) {
        pebc.push({ name: name + " forecast", x: d.forecast.map((p) => p[0]), y: d.forecast.map((p) => p[1]),
          mode: "lines", type: "scatter", line: { shape: "hv" } });
      }
      const pts = cut(d.power);
      pebc.push({ name: name + " measured", x: pts.map((p) => p[0]), y: pts.map((p) => p[1]), mode: "markers",
        type: "scatter" });
    }
    const ppbc = placementTraces(e.devices);
    const layout = (title, y) => ({ title: { text: title }, margin: { l: 60, r: 20, t: 40, b: 40 },
      xaxis: { type: "date" }, yaxis: { title: { text: y } }, showlegend: true, uirevision: title });
    const cfg = { displaylogo: false, responsive: true };
    const siteLayout = layout("Site: measured and planned power, prices", "W");
    siteLayout.yaxis2 = { title: { text: "price per kWh" }, overlaying: "y", side: "right" };
    siteLayout.legend = { x: 1.08 };
    Plotly.react("chart-site", site, siteLayout, cfg);
    Plotly.react("chart-power", power, layout("Power per device (measured)", "W"), cfg);
    Plotly.react("chart-fill", fills, layout("FRBC fill levels with range", "fill level"), cfg);
    Plotly.react("chart-pebc", pebc, layout("PEBC: instructed envelope against the forecast", "W"), cfg);
    const ppbcLayout = layout("PPBC: sequences placed in the profile's allowed window", "W");
    ppbcLayout.shapes = ppbc.shapes;
    ppbcLayout.annotations = ppbc.annotations;
    Plotly.react("chart-ppbc", ppbc.traces, ppbcLayout, cfg);
    Plotly.react("chart-modes", modes, layout("Operation modes and instructions", ""), cfg);
    note.textContent = e.devices.length + " device(s); " + (e.plan ? e.plan : "measured values from the conversation") +
      (planned ? " — dashed: the plan of " + planned.at : "");
  }

  /* PPBC: per container the placed sequence's power from its planned start, the profile's allowed window
     as a shaded band, and what the RM reports of each container (SCHEDULED, EXECUTING, FINISHED, ...). */
  function placementTraces(devices) {
    const traces = [], shapes = [], annotations = [];
    // Plotly reads a little HTML in labels: text from a frame keeps no tag
    const plain = (text) => String(text).replace(/</g, "‹").replace(/>/g, "›");
    const short = (id) => plain(String(id || "?").slice(0, 8));
    for (const d of devices.filter((x) => x.ppbc)) {
      const name = plain(d.name || d.session);
      const [from, to] = d.ppbc.window;
      if (from && to) {
        shapes.push({ type: "rect", xref: "x", yref: "paper", x0: from, x1: to, y0: 0, y1: 1,
          fillcolor: "rgba(69, 123, 157, 0.10)", line: { width: 1, dash: "dot", color: "#457b9d" } });
        annotations.push({ x: from, y: 1, xref: "x", yref: "paper", xanchor: "left", yanchor: "top",
          showarrow: false, text: name + ": allowed window", font: { size: 11, color: "#457b9d" } });
      }
      d.ppbc.containers.forEach((c, i) => {
        // who placed it (the current plan, or the ScheduleInstruction sent) and what the RM last reported
        const by = c.placed_by === "instruction" ? "instructed" : c.placed_by === "plan" ? "planned" : "not placed";
        const status = "RM: " + plain(c.status || "no status yet");
        const label = name + " #" + (i + 1) + " " + short(c.container) + " → " +
          (c.sequence ? short(c.sequence) : "?") + " (" + by + "; " + status + ")";
        const pts = c.points;
        traces.push({ name: label, x: pts.map((p) => p[0]), y: pts.map((p) => p[1]), mode: "lines+markers",
          type: "scatter", line: { shape: "hv" }, text: pts.map(() => status), hoverinfo: "x+y+name" });
        if (pts.length) {
          annotations.push({ x: pts[0][0], y: pts[0][1], xref: "x", yref: "y", text: "#" + (i + 1) + " " + status,
            showarrow: true, arrowhead: 0, ax: 0, ay: -24, font: { size: 11 } });
        }
      });
    }
    return { traces: traces, shapes: shapes, annotations: annotations };
  }

  /* ---------- replay slider ---------- */
  function updateSlider() {
    if (state.mode !== "replay") return;
    const slider = $("slider");
    const max = state.messages.length ? state.messages[state.messages.length - 1].seq : 0;
    const atEnd = Number(slider.value) >= Number(slider.max);
    slider.max = String(max);
    if (atEnd) slider.value = String(max);
    applySlider();
  }

  function applySlider() {
    const value = Number($("slider").value);
    const msg = state.messages.find((m) => m.seq >= value) || state.messages[state.messages.length - 1];
    state.upTo = value;
    state.upToTime = msg ? msg.t : "";
    $("slider-time").textContent = msg ? msg.t + " (frame " + value + ")" : "";
    state.dirty = true;
  }

  /* ---------- refresh loop ---------- */
  function refresh() {
    if (state.view === "messages" && state.dirty) { renderMessages(); state.dirty = false; }
    if (state.view === "sessions") api("api/sessions").then((s) => { state.sessions = s; renderSessions(); });
    if (state.view === "devices") api("api/devices").then((d) => { state.devices = d; renderDevices(); });
    if (state.view === "energy") api("api/energy").then((e) => { state.energy = e; renderEnergy(); });
  }

  function connect() {
    const url = "api/events" + (token ? "?token=" + encodeURIComponent(token) : "");
    const source = new EventSource(url);
    source.onopen = () => { $("status").textContent = "live"; api("api/messages?after=" + state.lastSeq).then(addMessages); };
    source.onerror = () => { $("status").textContent = "reconnecting…"; };
    source.onmessage = (ev) => {
      const event = JSON.parse(ev.data);
      if (event.kind === "message") addMessages([event.entry]);
    };
  }

  function start() {
    for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => show(b.dataset.view));
    for (const id of ["f-session", "f-device", "f-type", "f-dir", "f-status", "f-rule", "f-findings"]) {
      $(id).addEventListener("input", () => { state.dirty = true; renderMessages(); });
    }
    $("filters").addEventListener("submit", (ev) => ev.preventDefault());
    $("slider").addEventListener("input", () => { applySlider(); refresh(); });
    const wanted = new URLSearchParams(location.hash.slice(1)).get("view") || "messages";
    Promise.all([api("api/info"), api("api/rules")]).then(([info, rules]) => {
      state.rules = rules;
      state.mode = info.mode;
      if (info.mode === "replay") {
        $("replay").hidden = false;
        $("status").textContent = "replay";
        api("api/messages").then((m) => { addMessages(m); $("slider").value = $("slider").max; applySlider(); refresh(); });
      } else {
        connect();
      }
      show(wanted);
      setInterval(refresh, REFRESH_MS);
    }).catch((err) => { $("status").textContent = String(err); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
