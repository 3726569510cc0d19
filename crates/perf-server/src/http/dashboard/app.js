// The dashboard: one page, screens by URL fragment (#/, #/slos, #/slo/NAME, #/services,
// #/service/NAME, #/capacity, #/risk, #/golive, #/daos), fed by the REST API (refreshed every
// 10 s) and the /v1/stream WebSocket (the overview, every second). Charts are uPlot (vendored).
// A token given as #token=… is kept for the tab (sessionStorage) and taken out of the URL.
"use strict";

// ---- token, API, formatting ----------------------------------------------------------------
/// Takes a token out of the URL fragment (#token=… or #/screen&token=…) into sessionStorage.
function takeToken() {
  const m = location.hash.match(/[#&?]token=([^&]*)/);
  if (m) {
    sessionStorage.setItem("ecosystem-perf-token", decodeURIComponent(m[1]));
    const rest = location.hash.replace(/[#&?]token=[^&]*/, "").replace(/^#?&?/, "#");
    history.replaceState(null, "", location.pathname + location.search + (rest === "#" ? "#/" : rest));
  }
  return sessionStorage.getItem("ecosystem-perf-token");
}
let token = takeToken();

async function api(path) {
  const r = await fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {} });
  if (!r.ok) {
    let msg = "HTTP " + r.status;
    try { msg += ": " + (await r.json()).error.message; } catch (_) { /* not JSON */ }
    const e = new Error(msg);
    e.status = r.status;
    throw e;
  }
  return r.json();
}

const fmt = (v, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d));
const pct = (v, d = 1) => (v === null || v === undefined ? "–" : fmt(v * 100, d) + " %");
const ms = (v) => (v === null || v === undefined ? "–" : fmt(v, v < 10 ? 1 : 0) + " ms");
const when = (t) => (t ? String(t).replace("T", " ").slice(0, 16) : "–");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const enc = encodeURIComponent;
const LEVELS = ["normal", "shed batch", "cache fallback", "defer writes", "essential only"];
const levelClass = (l) => (l >= 3 ? "bad" : l >= 1 ? "warn" : "good");
const statusClass = (s) => ({ ok: "good", pass: "good", go: "good", healthy: "good", completed: "good", warning: "warn", at_risk: "warn", monitor: "warn", violation: "bad", fail: "bad", no_go: "bad", rolled_back: "bad", traffic_throttling: "bad", isolate: "bad", below_budget: "bad", compliant: "good", none: "good" }[s] || "dim");
const bar = (share, cls = "") => `<span class="bar ${cls}" style="width:${Math.max(0, Math.min(1, share)) * 6}rem"></span>`;

/// A table from a header and rows of cells (HTML strings; text cells escaped by the caller).
function table(head, rows, textCols = [0]) {
  const th = head.map((h, i) => `<th class="${textCols.includes(i) ? "text" : ""}" scope="col">${h}</th>`).join("");
  const body = rows.map((r) => "<tr>" + r.map((c, i) => `<td class="${textCols.includes(i) ? "text" : ""}">${c}</td>`).join("") + "</tr>").join("");
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table></div>`;
}

// ---- charts ----------------------------------------------------------------------------------
const AXIS = { stroke: "#8a8f98", grid: { stroke: "#262a33" }, ticks: { stroke: "#262a33" } };
const COLORS = ["#6ea8fe", "#ffd166", "#ff6b6b", "#06d6a0", "#c77dff"];

/// Draws a time chart in `el`: `data` = [xs (unix s), ys…]; `series` = [{label, stroke?, dash?}].
function chart(el, data, series, { height = 180, spark = false, bands, y } = {}) {
  el.innerHTML = "";
  const cs = getComputedStyle(el);
  const inner = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const width = Math.max(120, Math.floor(inner || 320) - (spark ? 0 : 8));
  const opts = {
    width,
    height,
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.stroke || COLORS[i % COLORS.length], width: spark ? 1.2 : 1.5, dash: s.dash, fill: s.fill, points: { show: false }, spanGaps: false }))],
    axes: spark ? [{ show: false }, { show: false }] : [AXIS, { ...AXIS, size: 55 }],
    legend: { show: !spark },
    cursor: { show: !spark },
    scales: { x: { time: true }, y: y || {} },
  };
  if (bands) opts.bands = bands;
  const u = new uPlot(opts, data, el);
  el.dataset.drawn = "1";
  return u;
}

/// One point per step of a view's matching series (GET /v1/query/range).
async function range(params, window, step) {
  const q = Object.entries(params).map(([k, v]) => `${k}=${enc(v)}`).join("&");
  const r = await api(`/v1/query/range?${q}&window=${window}&step=${step}&quantiles=0.5,0.95,0.99`);
  // The step still filling would read as a drop: charts end at the last whole step.
  if (r.points.length && r.points[r.points.length - 1].ts + r.step > Date.now()) r.points.pop();
  const xs = r.points.map((p) => p.ts / 1000);
  const col = (f) => r.points.map((p) => (p.count ? f(p) : null));
  return { xs, count: r.points.map((p) => p.count), errors: r.points.map((p) => p.errors), rps: r.points.map((p) => p.rps), err: col((p) => p.errorRate * 100), p50: col((p) => p.quantiles["0.5"]), p95: col((p) => p.quantiles["0.95"]), p99: col((p) => p.quantiles["0.99"]) };
}

// ---- live stream -----------------------------------------------------------------------------
const live = { overview: null, listeners: new Set(), ws: null };
/// Opens the stream again (a new token).
function reconnect() {
  const old = live.ws;
  live.ws = null;
  if (old) { old.onclose = null; old.close(); }
  connect();
}
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let ws;
  try {
    ws = new WebSocket(`${proto}://${location.host}/v1/stream` + (token ? `?token=${enc(token)}` : ""));
  } catch (_) {
    return;
  }
  live.ws = ws;
  ws.onmessage = (m) => {
    const env = JSON.parse(m.data);
    if (env.type !== "overview") return;
    live.overview = env.data;
    document.getElementById("status").textContent = `live · ${env.data.services.length} services · ${when(env.ts)}:${String(env.ts).slice(17, 19)}`;
    live.listeners.forEach((f) => f(env.data));
  };
  ws.onclose = () => {
    if (live.ws !== ws) return;
    document.getElementById("status").textContent = "stream disconnected, retrying…";
    setTimeout(() => { if (live.ws === ws) connect(); }, 2000);
  };
}

// ---- screens ---------------------------------------------------------------------------------
// Each screen: async (main, arg) => optional refresh function (called every 10 s).

/// The overview's "needs attention" list: the five things an on-call person asks first, each
/// a list item with `data-fact` (budget, node, canary, dao, capacity), from the API.
async function attention(services, slos) {
  const [weights, rollouts, tenants, caps] = await Promise.all([
    api("/v1/routing/weights").then((r) => r.services).catch(() => []),
    api("/v1/rollouts").then((r) => r.rollouts).catch(() => []),
    api("/v1/tenants").then((r) => r.tenants).catch(() => []),
    Promise.all(services.map((s) => api(`/v1/capacity/${enc(s)}`).catch(() => null))),
  ]);
  const items = [];
  const burning = slos.filter((s) => (s.burnRates["1h"] ?? 0) > 1).sort((a, b) => b.burnRates["1h"] - a.burnRates["1h"])[0];
  items.push(burning
    ? ["budget", `<b>${esc(burning.service)}</b> burns budget fastest: <a href="#/slo/${enc(burning.name)}">${esc(burning.name)}</a> at ${fmt(burning.burnRates["1h"], 1)}× over the last hour, ${pct(burning.errorBudget.remaining)} of its budget left`]
    : ["budget", "No SLO burns its budget faster than allowed over the last hour."]);
  const down = weights.flatMap((w) => w.nodes.filter((n) => n.weight < 0.9 && !n.lowTraffic).map((n) => ({ service: w.service, ...n }))).sort((a, b) => a.weight - b.weight);
  const scores = (n) => [["latency", n.latencyScore], ["errors", n.errorRateScore], ["capacity", n.capacityScore], ["regression", n.regressionScore]].filter(([, v]) => v < 0.9).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ");
  items.push(...(down.length ? down.slice(0, 3).map((n) => ["node", `Node <b>${esc(n.node)}</b> of <a href="#/service/${enc(n.service)}">${esc(n.service)}</a> is down-weighted to ${fmt(n.weight, 2)} (${esc(n.recommendation)}${n.slowNow ? ", slow in the last 10 s" : ""}: ${esc(scores(n) || "recovering")}; p99 ${ms(n.p99)}, errors ${pct(n.errorRate, 2)})`])
    : [["node", "Every node is at its neutral weight or above."]]));
  const back = rollouts.filter((r) => r.state === "rolled_back").slice(-1)[0];
  if (back) {
    const detail = await api(`/v1/rollouts/${enc(back.id)}`).catch(() => back);
    const why = (detail.history || []).filter((h) => h.decision === "rollback").slice(-1)[0];
    items.push(["canary", `Canary <b>${esc(back.id)}</b> (${esc(back.service)} ${esc(back.baselineVersion)} → ${esc(back.canaryVersion)}) was rolled back${why ? " at " + when(why.at) + ": " + esc(why.reasons.join("; ")) : ""}`]);
  } else {
    items.push(["canary", "No canary has been rolled back."]);
  }
  const held = tenants.filter((t) => t.isolationRecommendation === "traffic_throttling" || t.isolationRecommendation === "isolate");
  items.push(...(held.length ? held.map((t) => ["dao", `DAO <b>${esc(t.daoId)}</b> is ${t.isolationRecommendation === "isolate" ? "to be isolated" : "throttled"}: ${esc((t.reasons || []).join("; "))} — <a href="#/daos">DAOs</a>`])
    : [["dao", "No DAO is throttled or isolated."]]));
  const short = caps.filter((c) => c && c.hoursToExhaustion !== null && c.hoursToExhaustion !== undefined).sort((a, b) => a.hoursToExhaustion - b.hoursToExhaustion);
  items.push(...(short.length ? short.map((c) => ["capacity", `<b>${esc(c.service)}</b> runs out of capacity in ${fmt(c.hoursToExhaustion, 1)} h (peak forecast ${fmt(c.peakForecastRps)} rps against ${fmt(c.capacityRps)}) — <a href="#/capacity">capacity</a>`])
    : [["capacity", "No service runs out of capacity within the forecast horizon."]]));
  return items.map(([fact, html]) => `<li data-fact="${fact}">${html}</li>`).join("");
}

async function overviewScreen(main) {
  main.innerHTML = `<h2>Needs attention</h2><ul id="attention" class="attention"></ul><h2>Services</h2><p class="note">Live each second from the stream; sparklines: the last 15 minutes in 10-s steps (requests/s, error rate, p99 against its budget, dashed).</p><div class="tiles" id="tiles"></div>`;
  const tiles = main.querySelector("#tiles");
  let budgets = {};
  const paint = (ov) => {
    for (const s of ov.services) {
      let t = tiles.querySelector(`[data-service="${CSS.escape(s.service)}"]`);
      if (!t) {
        t = document.createElement("section");
        t.className = "tile";
        t.dataset.service = s.service;
        t.innerHTML = `<h3><a href="#/service/${enc(s.service)}">${esc(s.service)}</a><span class="level badge"></span></h3><div class="figures"></div><div class="spark" data-k="rps" data-label="rps"></div><div class="spark" data-k="err" data-label="errors"></div><div class="spark" data-k="p99" data-label="p99"></div>`;
        tiles.appendChild(t);
      }
      const lvl = t.querySelector(".level");
      lvl.textContent = `L${s.degradationLevel} ${LEVELS[s.degradationLevel]}`;
      lvl.className = "level badge " + levelClass(s.degradationLevel);
      const errCls = s.errorRate >= 0.01 ? "bad" : s.errorRate >= 0.001 ? "warn" : "";
      t.querySelector(".figures").innerHTML = `<span><b class="rps">${fmt(s.rps)}</b> rps</span><span class="${errCls}"><b>${pct(s.errorRate, 2)}</b> errors</span><span><b>${ms(s.p99)}</b> p99</span><span>SLO <b class="${statusClass(s.sloStatus)}">${esc(s.sloStatus)}</b></span><span class="${s.openAlerts ? "bad" : ""}"><b>${s.openAlerts}</b> alerts</span>`;
    }
  };
  const sparks = async () => {
    const ov = live.overview || (await api("/v1/overview"));
    paint(ov);
    const slos = await api("/v1/slos").then((r) => r.slos).catch(() => []);
    main.querySelector("#attention").innerHTML = await attention(ov.services.map((s) => s.service), slos);
    budgets = {};
    for (const s of slos) if (s.thresholdMs) budgets[s.service] = Math.min(budgets[s.service] ?? Infinity, s.thresholdMs);
    await Promise.all(ov.services.map(async (s) => {
      const t = tiles.querySelector(`[data-service="${CSS.escape(s.service)}"]`);
      const r = await range({ view: "service_operation", service: s.service }, "15m", "10s");
      chart(t.querySelector('[data-k="rps"]'), [r.xs, r.rps], [{ label: "rps" }], { height: 28, spark: true });
      chart(t.querySelector('[data-k="err"]'), [r.xs, r.err], [{ label: "errors %", stroke: "#ff6b6b" }], { height: 28, spark: true, y: { range: (u, lo, hi) => [0, Math.max(hi, 0.5)] } });
      const b = budgets[s.service];
      const p99 = [r.xs, r.p99];
      const series = [{ label: "p99", stroke: "#ffd166" }];
      if (b) { p99.push(r.xs.map(() => b)); series.push({ label: "budget", stroke: "#8a8f98", dash: [4, 4] }); }
      chart(t.querySelector('[data-k="p99"]'), p99, series, { height: 34, spark: true, y: { range: (u, lo, hi) => [0, Math.max(hi, b || 0) * 1.05] } });
    }));
  };
  live.listeners.add(paint);
  await sparks();
  return { refresh: sparks, every: 5000, leave: () => live.listeners.delete(paint) };
}

async function slosScreen(main) {
  const draw = async () => {
    const slos = (await api("/v1/slos")).slos.slice().sort((a, b) => a.errorBudget.remaining - b.errorBudget.remaining);
    const rows = slos.map((s) => {
      const rem = s.errorBudget.remaining;
      const burn = s.burnRates["1h"];
      return [`<a href="#/slo/${enc(s.name)}">${esc(s.name)}</a>`, esc(s.service), esc(s.sli), pct(s.objective, 2), pct(s.compliance, 3), `<span class="${rem < 0 ? "bad" : rem < 0.25 ? "warn" : "good"}">${pct(rem)}</span> ${bar(Math.max(rem, 0), rem < 0.25 ? "warn" : "")}`, `<span class="${burn >= 14.4 ? "bad" : burn >= 1 ? "warn" : ""}">${fmt(burn, 2)}×</span>`, fmt(s.burnRates["5m"], 2) + "×", esc(s.timeToExhaustion ?? "–"), `<span class="${statusClass(s.status)}">${esc(s.status)}</span>`, String(s.alerts.filter((a) => a.state === "firing").length)];
    });
    main.innerHTML = `<h2>SLOs, least budget left first</h2><p class="note">Budget remaining over each SLO's window; burn rate 1 spends the budget exactly over the window (Sloth/Pyrra's multi-window tiers fire at 14.4×, 6×, 3×, 1×).</p>` +
      (rows.length ? table(["SLO", "service", "SLI", "objective", "compliance", "budget remaining", "burn 1h", "burn 5m", "exhausted in", "status", "firing tiers"], rows, [0, 1, 2]) : `<p class="note">No SLO is defined (slos: in the config, or POST /v1/slos).</p>`);
    main.querySelector("tbody tr")?.setAttribute("id", "worst-slo");
  };
  await draw();
  return { refresh: draw };
}

async function sloScreen(main, name) {
  const draw = async () => {
    const s = await api(`/v1/slos/${enc(name)}`);
    const composite = s.sli === "composite";
    const windows = Object.keys(s.burnRates).sort((a, b) => toSec(a) - toSec(b));
    const tiers = s.alerts.map((a) => [esc(a.severity), `${esc(a.longWindow)} / ${esc(a.shortWindow)}`, fmt(a.factor, 1) + "×", fmt(a.burnRateLong, 2) + "×", fmt(a.burnRateShort, 2) + "×", `<span class="${a.state === "firing" ? "bad" : "dim"}">${esc(a.state)}</span>`, when(a.since)]);
    main.innerHTML = `<h2>${esc(s.name)} <span class="badge ${statusClass(s.status)}">${esc(s.status)}</span></h2>
      <p class="note">${esc(s.service)} · ${esc(s.sli)}${s.thresholdMs ? " under " + ms(s.thresholdMs) : ""} · objective ${pct(s.objective, 2)} over ${esc(s.window)} · ${s.good} good of ${s.total} · budget remaining <b class="${s.errorBudget.remaining < 0 ? "bad" : ""}">${pct(s.errorBudget.remaining)}</b>${s.timeToExhaustion ? " · exhausted in " + esc(s.timeToExhaustion) : ""}</p>
      ${composite ? "" : `<h2>Budget remaining, last 24 h</h2><div class="chart" id="budget"></div>`}
      <div class="cols"><div><h2>Burn rate per window</h2>${table(["window", "burn rate", "events"], windows.map((w) => [esc(w), `<span class="${s.burnRates[w] >= 1 ? "warn" : ""}">${fmt(s.burnRates[w], 2)}×</span>`, String(s.burnRateEvents[w] ?? "–")]))}</div>
      <div><h2>Alert tiers</h2>${table(["severity", "long / short", "factor", "burn long", "burn short", "state", "since"], tiers, [0, 1])}</div></div>
      ${composite ? `<h2>Members (a key member failing fails the journey)</h2>${table(["member SLO", "weight", "key"], s.definition.members.map((m) => [`<a href="#/slo/${enc(m.slo)}">${esc(m.slo)}</a>`, m.key ? "–" : fmt(m.weight ?? 1, 2), m.key ? "key" : ""]), [0])}` : ""}
      ${(s.corrections || []).length ? `<h2>Budget corrections</h2>${table(["id", "kind", "excludes", "reason", "author", "declared", "events left out"], s.corrections.map((c) => [esc(c.id), esc(c.kind), c.kind === "maintenance" ? `${when(c.from)} – ${when(c.to)}` : esc(`outside ${(c.days || []).join(",")} ${c.start}–${c.end} ${c.timeZone}`), esc(c.reason), esc(c.author), when(c.createdAt), String(c.excludedEvents)]), [0, 1, 2, 3, 4])}` : ""}`;
    // A journey has no events of its own to chart: its members do.
    if (composite) return;
    // Budget remaining as it stood after each 10-minute step of the last day, from the views' exact counts
    // (availability: failures; latency: the share of each step's requests over the threshold
    // is not in a range point, so latency SLOs show their p99 against the threshold instead).
    const scope = s.tenant ? { view: "service_tenant", service: s.service, tenant: s.tenant }
      : { view: "service_operation", service: s.service, ...(s.operation ? { operation: s.operation } : {}) };
    const r = await range(scope, "24h", "10m");
    const el = main.querySelector("#budget");
    if (s.sli === "availability") {
      let bad = 0, total = 0;
      const allowed = 1 - s.objective;
      const rem = r.xs.map((_, i) => { bad += r.errors[i]; total += r.count[i]; return total ? 100 * (1 - bad / (allowed * total)) : null; });
      chart(el, [r.xs, rem, r.xs.map(() => 0)], [{ label: "budget remaining % (events of the last 24 h)" }, { label: "exhausted", stroke: "#ff6b6b", dash: [4, 4] }]);
    } else {
      chart(el, [r.xs, r.p99, r.xs.map(() => s.thresholdMs)], [{ label: "p99 ms" }, { label: "threshold", stroke: "#ff6b6b", dash: [4, 4] }]);
    }
  };
  await draw();
  return { refresh: draw };
}
const toSec = (w) => { const m = /^(\d+)([smhd])$/.exec(w); return m ? m[1] * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]] : 0; };

async function servicesScreen(main) {
  const draw = async () => {
    const ov = live.overview || (await api("/v1/overview"));
    const rows = ov.services.map((s) => [`<a href="#/service/${enc(s.service)}">${esc(s.service)}</a>`, fmt(s.rps), pct(s.errorRate, 2), ms(s.p50), ms(s.p95), ms(s.p99), `<span class="${statusClass(s.sloStatus)}">${esc(s.sloStatus)}</span>`, `<span class="${levelClass(s.degradationLevel)}">L${s.degradationLevel}</span>`, String(s.openAlerts)]);
    main.innerHTML = `<h2>Services (last ${esc(ov.window)})</h2>` + table(["service", "rps", "errors", "p50", "p95", "p99", "SLO", "level", "alerts"], rows);
  };
  await draw();
  return { refresh: draw };
}

async function serviceScreen(main, name) {
  main.innerHTML = `<h2>${esc(name)}</h2><h2>Latency, last hour (1-minute steps)</h2><div class="chart" id="lat"></div><div id="rest"></div>`;
  const draw = async () => {
    const [r, profile, weights, degradation, rollouts] = await Promise.all([
      range({ view: "service_operation", service: name }, "1h", "1m"),
      api(`/v1/services/${enc(name)}/profile?window=15m`),
      api("/v1/routing/weights"),
      api("/v1/degradation"),
      api("/v1/rollouts"),
    ]);
    chart(main.querySelector("#lat"), [r.xs, r.p50, r.p95, r.p99], [{ label: "p50 ms" }, { label: "p95 ms" }, { label: "p99 ms" }]);
    const ops = profile.operations.map((o) => [esc(o.operation), fmt(o.rps), pct(o.errorRate, 2), ms(o.p50), ms(o.p95), ms(o.p99), pct(o.cacheHitRate)]);
    const bottlenecks = profile.bottlenecks.slice(0, 8).map((b) => [esc(b.operation), esc(b.stage), `${bar(b.shareOfTail)} ${pct(b.shareOfTail, 0)}`, ms(b.p99)]);
    const svc = weights.services.find((s) => s.service === name);
    const nodes = (svc?.nodes || []).slice().sort((a, b) => a.weight - b.weight).map((n) => [esc(n.node), `${bar(n.weight, n.weight < 0.9 ? "warn" : "")} ${fmt(n.weight, 2)}`, fmt(n.targetWeight, 2), fmt(n.latencyScore, 2), fmt(n.errorRateScore, 2), fmt(n.capacityScore, 2), fmt(n.regressionScore, 2), `<span class="${statusClass(n.recommendation)}">${esc(n.recommendation)}</span>${n.slowStart ? " · slow start" : ""}`, ms(n.p99), pct(n.errorRate, 2)]);
    const d = degradation.services.find((s) => s.service === name);
    const history = (d?.history || []).slice().reverse().slice(0, 10).map((h) => [when(h.at), `L${h.from} → <span class="${levelClass(h.to)}">L${h.to}</span>`, esc(h.reason)]);
    const mine = rollouts.rollouts.filter((x) => x.service === name).slice(-6).reverse();
    const details = await Promise.all(mine.map((x) => api(`/v1/rollouts/${enc(x.id)}`).catch(() => x)));
    const canaries = details.map((x) => {
      const last = (x.history || []).slice(-1)[0];
      return [esc(x.id), `${esc(x.baselineVersion)} → ${esc(x.canaryVersion)}`, `<span class="${statusClass(x.state)}">${esc(x.state.replace("_", " "))}</span>`, x.weight + " %", when(x.startedAt), esc(last ? last.reasons.join("; ") : "")];
    });
    main.querySelector("#rest").innerHTML = `<div class="cols"><div><h2>Operations, last 15 minutes</h2>${table(["operation", "rps", "errors", "p50", "p95", "p99", "cache hits"], ops)}</div>
      <div><h2>Where the tail time goes</h2>${bottlenecks.length ? table(["operation", "stage", "share of p99 time", "p99"], bottlenecks, [0, 1]) : '<p class="note">No stage timings reported.</p>'}</div></div>
      <h2>Routing weights</h2><p class="note">${esc(svc?.explanation || "no nodes")}</p>${table(["node", "weight", "target", "latency", "errors", "capacity", "regression", "recommendation", "p99", "error rate"], nodes, [0, 7])}
      <h2>Degradation: <span class="${levelClass(d?.level ?? 0)}">L${d?.level ?? 0} ${esc(d?.name ?? "normal")}</span></h2><p class="note">${esc(d?.reason ?? "")}</p>${history.length ? table(["at", "change", "reason"], history, [0, 1, 2]) : '<p class="note">No change yet.</p>'}
      <h2>Canaries</h2>${canaries.length ? table(["rollout", "versions", "state", "weight", "started", "last verdict"], canaries, [0, 1, 2, 5]) : '<p class="note">No rollout of this service.</p>'}`;
  };
  await draw();
  return { refresh: draw };
}

async function capacityScreen(main) {
  const draw = async () => {
    const ov = live.overview || (await api("/v1/overview"));
    const caps = (await Promise.all(ov.services.map((s) => api(`/v1/capacity/${enc(s.service)}`).catch(() => null)))).filter((c) => c && c.capacityRps);
    const cost = await api("/v1/cost");
    const rows = caps.map((c) => [`<a href="#/service/${enc(c.service)}">${esc(c.service)}</a>`, fmt(c.currentRps), fmt(c.peakForecastRps), fmt(c.capacityRps), `<span class="${c.headroom < c.headroomBudget ? "bad" : "good"}">${pct(c.headroom)}</span>`, c.hoursToExhaustion === null || c.hoursToExhaustion === undefined ? "not within the horizon" : `<b class="bad">${fmt(c.hoursToExhaustion, 1)} h</b>`, `<span class="${statusClass(c.status)}">${esc(c.status)}</span>`]);
    const budget = cost.monthlyBudget ?? cost.budget;
    main.innerHTML = `<h2>Capacity: forecast against capacity</h2>${table(["service", "rps now", "peak forecast", "capacity rps", "headroom at peak", "runs out in", "status"], rows)}
      <div id="caps"></div>
      <h2>Cost</h2><p class="note">${esc(cost.explanation)}</p>
      <p>Month to date <b>${fmt(cost.monthToDate, 2)}</b> · next 30 days <b>${fmt(cost.forecast30d, 0)}</b> (up to ${fmt(cost.forecast30dUpper, 0)})${budget ? ` against a monthly budget of <b>${fmt(budget, 0)}</b>` : ""}</p>
      ${table(["service", "last 24 h", "month to date", "cost per request"], cost.services.map((s) => [esc(s.service), fmt(s.last24h, 2), fmt(s.monthToDate, 2), fmt(s.costPerRequest, 5)]))}`;
    const holder = main.querySelector("#caps");
    for (const c of caps) {
      const box = document.createElement("div");
      box.innerHTML = `<h3>${esc(c.service)}: ${esc(c.explanation || (c.hoursToExhaustion ? "capacity runs out in " + fmt(c.hoursToExhaustion, 1) + " h" : "within capacity"))}</h3><div class="chart"></div>`;
      holder.appendChild(box);
      const f = c.forecast || [];
      const xs = f.map((p) => Date.parse(p.ts) / 1000);
      chart(box.querySelector(".chart"), [xs, f.map((p) => p.lower), f.map((p) => p.upper), f.map((p) => p.forecast), xs.map(() => c.capacityRps)],
        [{ label: "lower 95 %", stroke: "#3d5a80" }, { label: "upper 95 %", stroke: "#3d5a80" }, { label: "forecast rps", stroke: "#6ea8fe" }, { label: "capacity", stroke: "#ff6b6b", dash: [4, 4] }],
        { bands: [{ series: [2, 1], fill: "rgba(110,168,254,0.15)" }] });
    }
  };
  await draw();
  return { refresh: draw };
}

async function riskScreen(main) {
  const draw = async () => {
    const [risk, anomalies] = await Promise.all([api("/v1/risk/signals"), api("/v1/anomalies?window=3h")]);
    const callers = risk.entities.map((e) => [esc(e.entityId), `<span class="${e.riskLevel === "critical" || e.riskLevel === "high" ? "bad" : "warn"}">${esc(e.riskLevel)}</span>`, fmt(e.riskScore, 0), esc(e.signals.map((s) => `${s.type} on ${s.service} (${s.severity}, ${s.count})`).join("; "))]);
    const incidents = anomalies.incidents.slice().reverse().slice(0, 15).map((i) => [when(i.start), esc(i.services.join(", ")), `<span class="${i.open ? "bad" : "dim"}">${i.open ? "open" : "closed"}</span>`, String(i.series), esc(i.metrics.join(", ")), esc(i.probableCause)]);
    main.innerHTML = `<h2>Callers at ${esc(risk.minLevel)} risk or above</h2><p class="note">${risk.trackedCallers} callers tracked; levels ${esc(Object.entries(risk.levels).map(([k, v]) => k + " " + v).join(", "))}.</p>
      ${callers.length ? table(["caller", "level", "score", "signals"], callers, [0, 1, 3]) : '<p class="note">No caller above the threshold now.</p>'}
      <h2>Anomaly incidents, last 3 h</h2><p class="note">${anomalies.detectors} detectors.</p>${incidents.length ? table(["started", "services", "state", "series", "metrics", "probable cause"], incidents, [0, 1, 2, 4, 5]) : '<p class="note">No incident in the last 3 h.</p>'}`;
  };
  await draw();
  return { refresh: draw };
}

async function goliveScreen(main) {
  const figure = (v, unit) => (v === null || v === undefined ? "–" : unit === "ms" ? ms(v) : pct(v));
  const bound = (g) => ({ latency: "≤ ", cache: "≥ ", headroom: "≥ " }[g.name] || "< ") + figure(g.threshold, g.unit);
  const draw = async () => {
    const body = await api("/v1/golive");
    const word = { go: "GO", no_go: "NO-GO", insufficient_data: "INSUFFICIENT DATA" }[body.verdict];
    const rows = body.gates.map((g) => [esc(g.name), `<span class="${statusClass(g.status)}">${{ pass: "pass", fail: "FAIL", insufficient_data: "no data" }[g.status]}</span>`, figure(g.actual, g.unit), bound(g), g.window ? `${when(g.window.from)} → ${when(g.window.to)}` : "–", esc(g.reason)]);
    const evidence = body.gates.filter((g) => g.status !== "pass").flatMap((g) => g.evidence.filter((e) => !e.pass || g.status !== "fail").slice(0, 3).map((e) => `<li>${esc(g.name)} · ${esc(e.subject)}: ${esc(e.detail)}</li>`));
    main.innerHTML = `<h2>Go-live readiness <span id="golive-verdict" class="${statusClass(body.verdict)}">${word}</span></h2><p class="note">evaluated at ${when(body.evaluatedAt)}</p>
      ${table(["gate", "status", "actual", "threshold", "window", "reason"], rows, [0, 1, 4, 5])}<ul class="note">${evidence.join("")}</ul>`;
  };
  await draw();
  return { refresh: draw };
}

async function daosScreen(main) {
  const draw = async () => {
    const tenants = (await api("/v1/tenants")).tenants;
    const rows = tenants.map((t) => {
      const a = t.sloCompliance?.availability, l = t.sloCompliance?.latency, n = t.noisyNeighbour || {};
      const noisy = n.degradingOthers ? `<span class="bad">degrading others: their p99 ${pct(n.othersP99Change, 0)}</span>` : n.surging ? `<span class="warn">surging ×${fmt(n.surgeRatio, 2)}</span>` : `<span class="dim">no (×${fmt(n.surgeRatio, 2)})</span>`;
      const c = t.cost;
      const spent = c ? `${fmt(c.monthToDate, 2)}${c.shareOfEcosystem != null ? ` <span class="dim">(${pct(c.shareOfEcosystem, 0)})</span>` : ""}` : "–";
      const next = c && c.forecast30d != null ? `${fmt(c.forecast30d, 0)} <span class="dim">(≤ ${fmt(c.forecast30dUpper, 0)})</span>` : "–";
      return [esc(t.daoId), esc(t.subnet ?? "–"), fmt(t.rps), pct(t.loadShare), a ? `<span class="${statusClass(a.status)}">${pct(a.actual, 2)}</span> of ${pct(a.target, 1)}` : "–", l ? `<span class="${statusClass(l.status)}">${ms(l.actual)}</span> of ${ms(l.target)}` : "–", `<span class="${t.errorBudgetBurn > 1 ? "warn" : ""}">${fmt(t.errorBudgetBurn, 2)}×</span>`, spent, next, String(t.performanceScore), `<b class="${statusClass(t.isolationRecommendation)}">${esc(String(t.isolationRecommendation).replace("_", " "))}</b>`, esc((t.reasons || []).join("; ")), noisy];
    });
    main.innerHTML = `<h2>DAO subnets</h2><p class="note">Per tenant: SLO compliance (availability, p99), error-budget burn, cost this month (share of the ecosystem's) and the next 30 days forecast (95 % upper bound), isolation recommendation and why, noisy-neighbour evidence (the others' p99 since the tenant surged). A tenant token sees its own DAO only.</p>` +
      (rows.length ? table(["DAO", "subnet", "rps", "load share", "availability", "p99", "budget burn", "cost, month", "next 30 days", "score", "isolation", "why", "noisy neighbour"], rows, [0, 1, 10, 11, 12]) : '<p class="note">No tenant has sent traffic yet.</p>');
  };
  await draw();
  return { refresh: draw };
}

// ---- router ----------------------------------------------------------------------------------
const SCREENS = { "": overviewScreen, slos: slosScreen, slo: sloScreen, services: servicesScreen, service: serviceScreen, capacity: capacityScreen, risk: riskScreen, golive: goliveScreen, daos: daosScreen };
let current = null;
async function route() {
  const before = token;
  token = takeToken();
  if (token !== before) { reconnect(); }
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const screen = SCREENS[name] || overviewScreen;
  const arg = decodeURIComponent(rest.join("/"));
  if (current) { clearInterval(current.timer); current.leave?.(); }
  const main = document.getElementById("screen");
  main.innerHTML = '<p class="note">loading…</p>';
  delete main.dataset.ready;
  main.dataset.screen = SCREENS[name] ? name || "overview" : "overview";
  for (const a of document.querySelectorAll("nav a")) {
    const target = a.getAttribute("href").replace(/^#\/?/, "");
    a.toggleAttribute("aria-current", target === name || (target === "services" && name === "service") || (target === "slos" && name === "slo"));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  const mine = { timer: null };
  current = mine;
  const fail = (e) => {
    if (current !== mine) return;
    const hint = e.status === 401 || e.status === 403 ? " — open the dashboard as /#token=YOUR_TOKEN (a token with the read scope)" : "";
    main.innerHTML = `<p class="error" role="alert">${esc(e.message)}${esc(hint)}</p>`;
  };
  try {
    const r = await screen(main, arg);
    if (current !== mine) { r?.leave?.(); return; }
    mine.leave = r?.leave;
    if (r?.refresh) mine.timer = setInterval(() => r.refresh().catch(fail), r.every || 10000);
    main.dataset.ready = "1";
  } catch (e) {
    fail(e);
  }
}
window.addEventListener("hashchange", route);
connect();
route();
