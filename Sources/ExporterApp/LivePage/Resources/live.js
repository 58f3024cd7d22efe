"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const focus = params.get("job");           // the job page's job, or null for the job list
  // ?live=0: the state drawn once from the JSON API, with no stream held open and no timers, so
  // headless captures (chromium --screenshot) and reports finish; <html data-ready> marks the end.
  const live = params.get("live") !== "0";
  const PAGE = 100;                          // agents table rows per page
  const STALL_SECONDS = 300;                 // running without progress this long: stalled
  const state = {
    jobs: new Map(), agents: new Map(), agentsAt: new Map(), alerts: [], instance: null, offset: 0,
    histories: new Map(), historyAsked: new Map(), updates: 0, lastUpdate: 0,
    sort: { key: "agent", desc: false }, page: 0,
  };
  const cards = new Map();
  let source = null, scheduled = false, reconnectTimer = null;

  // ---- formatting ----
  const nf = new Intl.NumberFormat("en-US");
  function int(n) { return n === undefined || n === null ? "–" : nf.format(n); }
  function duration(s) {
    if (s === undefined || s === null || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + String(m).padStart(2, "0") + "m";
    if (m > 0) return m + "m " + String(sec).padStart(2, "0") + "s";
    return sec + "s";
  }
  function compact(s) { return duration(s).replace(/ /g, ""); }
  function rate(r) {
    if (r === undefined || r === null || !isFinite(r)) return "–";
    if (r === 0) return "0/s";
    if (r >= 10) return r.toFixed(0) + "/s";
    if (r >= 1) return r.toFixed(1) + "/s";
    if (r * 60 >= 1) return (r * 60).toFixed(1) + "/min";
    return (r * 3600).toFixed(1) + "/h";
  }
  // Local clock time: "19:36:46" today, "Dec 13 19:36" on another day of this year, "2025-12-13"
  // in another year (short enough for a card's column in any locale).
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function clock(t) {
    if (t === undefined || t === null || !isFinite(t)) return "–";
    const d = new Date(t * 1000), today = new Date(now() * 1000);
    const two = (n) => String(n).padStart(2, "0");
    const hm = two(d.getHours()) + ":" + two(d.getMinutes());
    if (d.toDateString() === today.toDateString()) return hm + ":" + two(d.getSeconds());
    if (d.getFullYear() === today.getFullYear()) return MONTHS[d.getMonth()] + " " + d.getDate() + " " + hm;
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate());
  }
  // "3m 05s ago" ("just now" within a second, and for a time a little ahead of the page's clock).
  function ago(t) {
    if (t === undefined || t === null || !isFinite(t)) return "";
    const d = now() - t;
    return d < 1 ? "just now" : duration(d) + " ago";
  }
  // A clock-time range, to the minute ("19:44 – 19:46"), or when both ends fall in the same minute
  // to the second with the second end's seconds only ("19:44:15 – :38"), short enough for a card.
  function band(from, to) {
    const a = clock(from), b = clock(to), short = (t) => t.replace(/:\d\d$/, "");
    return short(a) === short(b) ? a + " – " + b.slice(-3) : short(a) + " – " + short(b);
  }
  // An ETC open above: the job waits on a stalled item that may never end (API: a null upper bound).
  function isOpenAbove(job) { return job.eta_seconds !== undefined && (job.eta_upper_bound_seconds === undefined || job.eta_upper_bound_seconds === null); }
  // "waiting on agent-000 (item-611, no progress for 2m10s)", or "". How long an item went without
  // progress is said when it is stalled or a minute or more: the end of a healthy job waits on its
  // last items too, and "no progress for 0s" read as a warning.
  function waitingText(job) {
    const w = job.waiting_on || [];
    if (w.length === 0) return "";
    return "waiting on " + w.map((i) => {
      const parts = (i.item !== undefined ? [i.item] : []).concat(i.stalled || i.no_progress_seconds >= 60 ? ["no progress for " + compact(i.no_progress_seconds)] : []);
      return i.agent + (parts.length ? " (" + parts.join(", ") + ")" : "");
    }).join(", ");
  }
  // Rounded down, so 1,999 of 2,000 is 99.9 %: never 100 % while anything remains.
  function pct(r, remaining) {
    if (r === undefined || r === null || !isFinite(r)) return "–";
    let value = Math.floor(Math.min(1, Math.max(0, r)) * 1000) / 10;
    if (value >= 100 && remaining > 0) value = 99.9;
    return value.toFixed(1) + "%";
  }
  // The exporter's clock, from the newest summary (estimated completion − ETC), else ours.
  function now() { return Date.now() / 1000 + state.offset; }
  // Only a job with items left counts: once every item finished, the completion time is the last
  // item's end, not now + ETC, and would set the page's clock back.
  function learnOffset(job) {
    if (job.estimated_completion_timestamp && job.eta_seconds !== undefined && job.remaining !== 0 && !job.all_items_finished) {
      state.offset = job.estimated_completion_timestamp - job.eta_seconds - Date.now() / 1000;
    }
  }

  // ---- DOM helpers: text only ----
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function setText(e, text) { if (e.textContent !== text) e.textContent = text; }
  const $ = (id) => document.getElementById(id);

  // ---- the stream ----
  function connect() {
    clearTimeout(reconnectTimer);
    if (source) source.close();
    const url = "/api/v1/stream" + (focus !== null ? "?job=" + encodeURIComponent(focus) : "");
    source = new EventSource(url);
    source.addEventListener("hello", (e) => {
      const hello = JSON.parse(e.data);
      if (state.instance !== null && hello.instance !== state.instance && !hello.reset) {
        // Another exporter process answered a resume: start over from its full state.
        state.instance = null;
        reset();
        connect();
        return;
      }
      if (hello.reset) reset();
      state.instance = hello.instance;
      setConnection("live", "live");
    });
    source.addEventListener("jobs", (e) => {
      const data = JSON.parse(e.data);
      for (const job of data.jobs) {
        state.jobs.set(job.job, job);
        learnOffset(job);
      }
      for (const id of data.removed) { state.jobs.delete(id); state.histories.delete(id); }
      changed();
    });
    source.addEventListener("agents", (e) => {
      const data = JSON.parse(e.data);
      if (data.job !== focus) return;
      const at = performance.now();
      for (const agent of data.agents) { state.agents.set(agent.agent, agent); state.agentsAt.set(agent.agent, at); }
      changed();
    });
    pruneTimer = pruneTimer || setInterval(pruneAgents, window.__pruneEvery || 15000);
    source.addEventListener("alerts", (e) => {
      state.alerts = JSON.parse(e.data).alerts;
      changed();
    });
    source.onerror = () => {
      setConnection("reconnecting…", "down");
      // EventSource retries by itself after a network error; after an HTTP error it gives up.
      if (source.readyState === EventSource.CLOSED) reconnectTimer = setTimeout(connect, 2000);
    };
  }
  // The stream tells of changed agents, not of agents forgotten by --agents.retention: when the
  // job counts fewer agents than the page holds, the page re-reads the job's agent list.
  let pruneTimer = null, pruning = false;
  function pruneAgents() {
    const job = state.jobs.get(focus);
    if (!job || pruning) return;
    const counted = Object.values(job.agents || {}).reduce((a, b) => a + b, 0);
    if (state.agents.size <= counted) return;
    pruning = true;
    const asked = performance.now();
    // The list comes in pages (limit and cursor): walk them all, at most 1,000 pages.
    const base = "/api/v1/jobs/" + encodeURIComponent(focus) + "/agents?limit=5000";
    const ids = [];
    const page = (cursor, left) => fetch(base + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""))
      .then((r) => r.ok ? r.json() : null)
      .then((list) => {
        if (!list) return null;
        for (const a of list.agents) ids.push(a.agent);
        return list.next_cursor && left > 0 ? page(list.next_cursor, left - 1) : ids;
      });
    page(null, 1000)
      .then((list) => {
        if (!list) return;
        const keep = new Set(list);
        // Only agents the stream last told of before the list was asked for: newer ones may be missing from it.
        for (const id of [...state.agents.keys()]) {
          if (!keep.has(id) && state.agentsAt.get(id) < asked) { state.agents.delete(id); state.agentsAt.delete(id); }
        }
        changed();
      })
      .catch(() => {})
      .finally(() => { pruning = false; });
  }
  function reset() {
    state.jobs.clear(); state.agents.clear(); state.agentsAt.clear(); state.alerts = [];
    state.histories.clear(); state.historyAsked.clear();
  }
  function setConnection(text, cls) { const c = $("conn"); setText(c, text); c.className = "conn " + cls; }
  function changed() {
    state.updates++;
    state.lastUpdate = performance.now();
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; render(); });
  }

  // ---- history (burn-down) ----
  function history(job) {
    const asked = state.historyAsked.get(job);
    if (live && (asked === undefined || performance.now() - asked > 10000)) {
      state.historyAsked.set(job, performance.now());
      fetch("/api/v1/jobs/" + encodeURIComponent(job) + "/history")
        .then((r) => r.ok ? r.json() : null)
        .then((h) => { if (h && state.jobs.has(job)) { state.histories.set(job, h.points); changed(); } })
        .catch(() => {});
    }
    return state.histories.get(job) || [];
  }

  // ---- failures (job page) ----
  // Read again when the job's failure counts move, at most every 2 s.
  let failures = { job: null, key: "", asked: 0, page: null };
  function loadFailures(job) {
    if (!live) return;
    const key = job.job + "|" + job.failed + "|" + job.dead_lettered;
    if (failures.job === job.job && (failures.key === key || performance.now() - failures.asked < 2000)) return;
    if (failures.job !== job.job) failures.page = null;
    failures.job = job.job; failures.key = key; failures.asked = performance.now();
    fetch("/api/v1/jobs/" + encodeURIComponent(job.job) + "/failures?limit=20")
      .then((r) => r.ok ? r.json() : null)
      .then((page) => { if (page && page.job === focus) { failures.page = page; changed(); } })
      .catch(() => {});
  }
  function fillRows(body, entries, cells) {
    body.replaceChildren(...entries.map((entry) => {
      const tr = el("tr");
      for (const text of cells(entry)) { const td = el("td", "", text); td.title = text; tr.append(td); }
      return tr;
    }));
  }
  function renderFailures(job) {
    const section = $("failures-section");
    section.hidden = !job || (job.failed === 0 && job.dead_lettered === 0);
    if (section.hidden) return;
    loadFailures(job);
    const page = failures.page;
    if (!page || page.job !== job.job) return;
    setText($("failures-title"), "Failures (" + int(page.failed_total) + " failed attempts, last " + int(page.failures.length) + " shown)");
    setText($("failure-reasons"), page.reasons.length === 0 ? "" :
      "Most common: " + page.reasons.slice(0, 3).map((r) => r.reason + " (" + int(r.count) + ")").join(" · "));
    fillRows($("failure-rows"), page.failures, (f) => [clock(f.timestamp), f.agent || "–", f.item || "–", f.error || "–",
      f.retryable === undefined ? "–" : f.retryable ? "yes" : "no"]);
    setText($("dead-title"), "Dead-lettered items (" + int(page.dead_lettered_total) + ")");
    fillRows($("dead-rows"), page.dead_lettered, (d) => [clock(d.timestamp), d.agent || "–", d.item || "–", d.error || "–"]);
  }

  // ---- rendering ----
  function render() {
    const single = focus !== null;
    document.body.classList.toggle("single", single);
    $("back").hidden = !single;
    renderAlerts();
    let jobs = [...state.jobs.values()];
    if (single) jobs = jobs.filter((j) => j.job === focus);
    const ended = (j) => j.status === "completed" || j.status === "failed" || j.status === "cancelled";
    jobs.sort((a, b) => (ended(a) - ended(b)) || (a.job < b.job ? -1 : a.job > b.job ? 1 : 0));
    const container = $("jobs");
    const seen = new Set();
    jobs.forEach((job, index) => {
      let card = cards.get(job.job);
      if (!card) { card = makeCard(job.job); cards.set(job.job, card); }
      seen.add(job.job);
      // In the page before it is drawn: the burn-down's canvas needs its size.
      if (container.children[index] !== card.root) container.insertBefore(card.root, container.children[index] || null);
      updateCard(card, job);
    });
    for (const [id, card] of cards) if (!seen.has(id)) { card.root.remove(); cards.delete(id); }
    const none = $("no-jobs");
    none.hidden = jobs.length > 0;
    if (single && jobs.length === 0) setText(none, "No job named “" + focus + "” (yet). It shows up here when its first event arrives.");
    if (single) renderAgents();
    renderFailures(single ? state.jobs.get(focus) : null);
    document.title = single ? focus + " · progress-exporter" : "progress-exporter";
  }

  function stat(parent, label, field) {
    const box = el("div", "stat");
    const name = el("div", "label", label);
    box.append(name);
    const value = el("div", "value", "–");
    value.dataset.field = field;
    const sub = el("div", "sub", "");
    box.append(value, sub);
    parent.append(box);
    return { label: name, value, sub };
  }

  function makeCard(id) {
    const root = el("article", "card");
    root.dataset.job = id;
    const head = el("div", "card-head");
    const link = el("a", "", id);
    link.href = "/?job=" + encodeURIComponent(id) + (live ? "" : "&live=0");
    link.title = id;
    const status = el("span", "badge");
    const alerting = el("span", "badge alerting");
    alerting.hidden = true;
    head.append(link, status, alerting);
    const bar = el("div", "bar");
    const fill = el("div");
    bar.append(fill);
    const percent = el("div", "percent");
    const percentText = el("span"), plannedText = el("span");
    percent.append(percentText, plannedText);
    const stats = el("div", "stats");
    const f = {
      finished: stat(stats, "Done", "finished"),
      failed: stat(stats, "Failed", "failed"),
      remaining: stat(stats, "Remaining", "remaining"),
      throughput: stat(stats, "Throughput", "throughput"),
      eta: stat(stats, "ETC", "eta"),
      finish: stat(stats, "Finishes at", "finish"),
      elapsed: stat(stats, "Elapsed", "elapsed"),
      success: stat(stats, "Success", "success"),
    };
    const chips = el("div", "chips");
    const waiting = el("div", "waiting", "");
    const canvas = el("canvas", "burn");
    const legend = el("div", "legend");
    for (const [color, text] of [["#2f6fed", "remaining"], ["#9bb5f5", "ETC projection (80 % band)"]]) {
      const item = el("span", "", text);
      const swatch = el("i");
      swatch.style.background = color;
      item.prepend(swatch);
      legend.append(item);
    }
    root.append(head, bar, percent, stats, waiting, chips, canvas, legend);
    return { root, status, alerting, fill, percentText, plannedText, f, chips, waiting, canvas, chipKey: "" };
  }

  function updateCard(card, job) {
    const isEnded = job.status === "completed" || job.status === "failed" || job.status === "cancelled";
    card.root.classList.toggle("ended", isEnded);
    setText(card.status, job.status === "running" && job.all_items_finished ? "running · all items finished" : job.status);
    card.status.className = "badge " + job.status;
    const firing = state.alerts.filter((a) => a.labels.job_name === job.job && a.state === "firing").length;
    card.alerting.hidden = firing === 0;
    setText(card.alerting, firing + (firing === 1 ? " alert" : " alerts"));
    const ratio = job.progress_ratio;
    card.fill.style.width = ratio === undefined ? "0%" : (ratio * 100).toFixed(2) + "%";
    setText(card.percentText, ratio === undefined ? "planned total unknown" : pct(ratio, job.remaining));
    setText(card.plannedText, int(job.finished) + " / " + (job.planned === undefined ? "?" : int(job.planned)) + " items");
    const f = card.f;
    setText(f.finished.value, int(job.completed));
    setText(f.finished.sub, job.dead_lettered ? int(job.dead_lettered) + " dead-lettered" : "");
    setText(f.failed.value, int(job.failed));
    setText(f.failed.sub, job.retries ? int(job.retries) + (job.retries === 1 ? " retry" : " retries") : "attempts");
    setText(f.remaining.value, job.remaining === undefined ? "–" : int(job.remaining));
    if (isEnded) updateEnded(card, f, job); else updateRunning(card, f, job);
    const attempts = job.completed + job.failed;
    setText(f.success.value, attempts > 0 ? pct(job.completed / attempts) : "–");
    setText(f.success.sub, int(attempts) + " attempts");
    const states = Object.entries(job.agents || {}).filter(([, n]) => n > 0).sort();
    const chipKey = JSON.stringify(states);
    if (chipKey !== card.chipKey) {
      card.chipKey = chipKey;
      card.chips.replaceChildren(...states.map(([s, n]) => {
        const chip = el("span", "chip state-" + s.replace(/[^a-z_]/g, ""), s.replace("_", " ") + " " + int(n));
        chip.dataset.state = s;
        return chip;
      }));
      if (states.length === 0) card.chips.append(el("span", "chip", "no agents"));
    }
    drawBurnDown(card.canvas, job, history(job.job));
  }

  // When an ended job ended: a completed job at its last item's end (estimated_completion_timestamp),
  // else at its last event.
  function endOf(job) {
    return job.status === "completed" && job.estimated_completion_timestamp !== undefined ? job.estimated_completion_timestamp : job.last_event_timestamp;
  }

  // An ended job: when it ended, how long it ran and its mean throughput (no ETC, no recent rate).
  function updateEnded(card, f, job) {
    const end = endOf(job), ran = end - job.start_timestamp;
    setText(card.waiting, "");
    setText(f.throughput.label, "Mean rate");
    setText(f.throughput.value, ran > 0 ? rate(job.finished / ran) : "–");
    setText(f.throughput.sub, int(job.finished) + " items");
    setText(f.eta.label, "Duration");
    setText(f.eta.value, duration(ran));
    setText(f.eta.sub, "");
    setText(f.finish.label, job.status === "completed" ? "Finished at" : job.status === "failed" ? "Failed at" : "Cancelled at");
    setText(f.finish.value, clock(end));
    setText(f.finish.sub, ago(end));
    setText(f.elapsed.label, "Started at");
    setText(f.elapsed.value, clock(job.start_timestamp));
    setText(f.elapsed.sub, ago(job.start_timestamp));
  }

  // A running job: recent throughput, the ETC and its band, the finish time inside that band.
  function updateRunning(card, f, job) {
    const windows = job.throughput_by_window || {};
    setText(f.throughput.label, "Throughput");
    setText(f.throughput.value, rate(windows["1m"]));
    setText(f.throughput.sub, "5m " + rate(windows["5m"]));
    // Every planned item finished, no job_completed yet: nothing left to estimate.
    const done = job.all_items_finished === true;
    setText(f.eta.label, "ETC");
    setText(f.eta.value, done ? "–" : duration(job.eta_seconds));
    const open = isOpenAbove(job);
    const lower = job.eta_lower_bound_seconds, upper = job.eta_upper_bound_seconds;
    setText(f.eta.sub, lower !== undefined && !done ? compact(lower) + " – " + (open ? "open" : compact(upper)) : "");
    setText(f.finish.label, done ? "Last item at" : "Finishes at");
    setText(f.finish.value, clock(job.estimated_completion_timestamp));
    // The band from the same instant as the finish time (the summary's, not the page's now), and
    // around it, so the finish never lies outside its own band.
    const at = job.estimated_completion_timestamp, eta = job.eta_seconds;
    const base = at !== undefined && eta !== undefined ? at - eta : now();
    setText(f.finish.sub, lower !== undefined && job.remaining !== 0
      ? (open ? clock(base + Math.min(lower, eta)) + " – open" : band(base + Math.min(lower, eta), base + Math.max(upper, eta))) : "");
    setText(card.waiting, waitingText(job));
    card.waiting.classList.toggle("stalled", (job.waiting_on || []).some((i) => i.stalled));
    setText(f.elapsed.label, "Elapsed");
    setText(f.elapsed.value, duration(now() - job.start_timestamp));
    setText(f.elapsed.sub, "since " + clock(job.start_timestamp));
  }

  function drawBurnDown(canvas, job, points) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (w === 0 || h === 0) return;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const series = points.filter((p) => p.remaining !== undefined).map((p) => [p.timestamp, p.remaining]);
    const t = job.status === "running" || job.status === "paused" ? now() : endOf(job);
    if (job.remaining !== undefined) series.push([t, job.remaining]);
    const left = 46, right = 8, top = 8, bottom = 18;
    g.font = "10px system-ui, sans-serif";
    g.fillStyle = "#667085";
    if (series.length === 0) { g.fillText("no planned total yet: no burn-down", left, h / 2); return; }
    const start = Math.min(job.start_timestamp, series[0][0]);
    const eta = job.eta_seconds, lower = job.eta_lower_bound_seconds;
    const upper = job.eta_upper_bound_seconds === null ? undefined : job.eta_upper_bound_seconds;
    let endT = t;
    if (eta !== undefined) endT = Math.max(endT, t + (upper !== undefined ? upper : 2 * eta));
    if (endT <= start) endT = start + 1;
    let maxY = Math.max(1, ...series.map((p) => p[1]));
    if (job.planned !== undefined) maxY = Math.max(maxY, job.planned);
    const x = (v) => left + (v - start) / (endT - start) * (w - left - right);
    const y = (v) => top + (1 - v / maxY) * (h - top - bottom);
    // Axes and labels.
    g.strokeStyle = "#e3e6ec"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(left, y(0)); g.lineTo(w - right, y(0)); g.moveTo(left, y(maxY)); g.lineTo(w - right, y(maxY)); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle";
    g.fillText(int(maxY), left - 4, y(maxY)); g.fillText("0", left - 4, y(0));
    g.textBaseline = "alphabetic"; g.textAlign = "left";
    // To the minute, or to the second when both ends fall in the same minute (a short run).
    let from = clock(start).replace(/:\d\d$/, ""), to = clock(endT).replace(/:\d\d$/, "");
    if (from === to) { from = clock(start); to = clock(endT); }
    g.fillText(from, left, h - 4);
    g.textAlign = "right";
    g.fillText(to, w - right, h - 4);
    // The ETC's band and projection from now.
    const rem = job.remaining;
    if (eta !== undefined && rem !== undefined && rem > 0) {
      if (lower !== undefined) {
        // Open above: the band reaches the chart's right edge and beyond.
        const far = upper !== undefined ? t + upper : endT;
        g.fillStyle = "rgba(47,111,237,.14)";
        g.beginPath(); g.moveTo(x(t), y(rem)); g.lineTo(x(t + lower), y(0)); g.lineTo(x(far), y(0));
        if (upper === undefined) g.lineTo(x(far), y(rem));
        g.closePath(); g.fill();
      }
      g.strokeStyle = "#9bb5f5"; g.setLineDash([5, 4]); g.lineWidth = 1.5;
      g.beginPath(); g.moveTo(x(t), y(rem)); g.lineTo(x(t + eta), y(0)); g.stroke();
      g.setLineDash([]);
    }
    // Remaining items over time.
    g.strokeStyle = "#2f6fed"; g.lineWidth = 2;
    g.beginPath();
    series.forEach(([tv, r], i) => { if (i === 0) g.moveTo(x(tv), y(r)); else g.lineTo(x(tv), y(r)); });
    g.stroke();
    // Now.
    g.strokeStyle = "#98a2b3"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(x(t), top); g.lineTo(x(t), y(0)); g.stroke();
  }

  function renderAlerts() {
    const list = $("alerts");
    let alerts = state.alerts;
    if (focus !== null) alerts = alerts.filter((a) => a.labels.job_name === focus);
    $("alerts-section").hidden = alerts.length === 0;
    const firing = alerts.filter((a) => a.state === "firing").length;
    setText($("alerts-title"), "Alerts: " + firing + " firing, " + (alerts.length - firing) + " pending");
    const shown = alerts.slice().sort((a, b) => (a.state === "firing" ? 0 : 1) - (b.state === "firing" ? 0 : 1)).slice(0, 50);
    list.replaceChildren(...shown.map((a) => {
      const li = el("li", a.state);
      li.dataset.alertname = a.labels.alertname || "";
      li.append(el("span", "name", a.labels.alertname || "alert"), el("span", "badge " + (a.state === "firing" ? "alerting" : ""), a.state));
      const where = [a.labels.job_name, a.labels.agent].filter((v) => v !== undefined).join(" / ");
      li.append(el("span", "where", where));
      const summary = (a.annotations && (a.annotations.summary || a.annotations.description)) || "";
      if (summary) li.append(el("span", "summary", summary));
      li.append(el("span", "since", "since " + clock(a.activeAt)));
      return li;
    }));
    if (alerts.length > shown.length) list.append(el("li", "", "… and " + (alerts.length - shown.length) + " more"));
  }

  // ---- agents table (job page) ----
  const states = ["queued", "initializing", "running", "merging", "completed", "failed", "retrying", "dead_lettered"];
  function agentFlags(agent, alertsByAgent) {
    const names = alertsByAgent.get(agent.agent) || [];
    const stalled = names.includes("AgentStalled") || names.includes("AgentLost") ||
      (agent.state === "running" && agent.last_progress_timestamp !== undefined && now() - agent.last_progress_timestamp > STALL_SECONDS);
    const failing = names.includes("AgentFailing") || agent.consecutive_failures >= 3;
    return { stalled, failing };
  }
  let rows = [];
  function renderAgents() {
    $("agents-section").hidden = false;
    const text = $("filter").value.trim().toLowerCase();
    const only = $("state-filter").value;
    const problems = $("problems").checked;
    const alertsByAgent = new Map();
    for (const a of state.alerts) {
      if (a.labels.job_name !== focus || a.labels.agent === undefined) continue;
      if (!alertsByAgent.has(a.labels.agent)) alertsByAgent.set(a.labels.agent, []);
      alertsByAgent.get(a.labels.agent).push(a.labels.alertname);
    }
    let list = [];
    for (const agent of state.agents.values()) {
      if (only && agent.state !== only) continue;
      if (text && !(agent.agent.toLowerCase().includes(text) || (agent.item || "").toLowerCase().includes(text) ||
          (agent.step || "").toLowerCase().includes(text) || agent.state.includes(text))) continue;
      const flags = agentFlags(agent, alertsByAgent);
      if (problems && !flags.stalled && !flags.failing) continue;
      list.push([agent, flags]);
    }
    const key = state.sort.key, dir = state.sort.desc ? -1 : 1;
    list.sort(([a], [b]) => {
      let va = a[key], vb = b[key];
      if (va === undefined || va === null) va = typeof vb === "number" ? -Infinity : "";
      if (vb === undefined || vb === null) vb = typeof va === "number" ? -Infinity : "";
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0;
    });
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const first = state.page * PAGE;
    const shown = list.slice(first, first + PAGE);
    setText($("agents-title"), "Agents (" + int(state.agents.size) + ")");
    setText($("agent-count"), list.length === 0 ? "no agents match" :
      int(first + 1) + "–" + int(first + shown.length) + " of " + int(list.length) + (list.length !== state.agents.size ? " (filtered)" : ""));
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    for (const th of document.querySelectorAll("#agents th")) {
      th.classList.toggle("sorted", th.dataset.key === key);
      th.classList.toggle("desc", th.dataset.key === key && state.sort.desc);
    }
    const body = $("agent-rows");
    while (rows.length < shown.length) {
      const tr = el("tr");
      const cells = [];
      for (let i = 0; i < 8; i++) { const td = el("td"); tr.append(td); cells.push(td); }
      cells[4].className = "num"; cells[6].className = "num"; cells[7].className = "num";
      const bar = el("span", "mini"), fill = el("span");
      bar.append(fill);
      const label = el("span");
      cells[4].append(bar, label);
      rows.push({ tr, cells, fill, label });
    }
    rows.forEach((row, i) => {
      if (i >= shown.length) { if (row.tr.parentNode) row.tr.remove(); return; }
      const [agent, flags] = shown[i];
      row.tr.dataset.agent = agent.agent;
      row.tr.className = flags.failing ? "failing" : flags.stalled ? "stalled" : "";
      const c = row.cells;
      setText(c[0], agent.agent); c[0].title = agent.agent;
      setText(c[1], agent.state.replace("_", " ") + (flags.stalled ? " · stalled" : flags.failing ? " · failing" : ""));
      setText(c[2], agent.item || "–"); c[2].title = agent.item || "";
      setText(c[3], agent.step || "–"); c[3].title = agent.step || "";
      row.fill.style.width = agent.progress_ratio === undefined ? "0" : (agent.progress_ratio * 100).toFixed(1) + "%";
      setText(row.label, agent.progress_ratio === undefined ? "–" : pct(agent.progress_ratio));
      setText(c[5], agent.last_progress_timestamp === undefined ? "never" : duration(now() - agent.last_progress_timestamp) + " ago");
      setText(c[6], int(agent.failed) + (agent.consecutive_failures > 0 ? " · " + int(agent.consecutive_failures) + " in a row" : ""));
      c[6].title = int(agent.failed) + " failed attempts, the last " + int(agent.consecutive_failures) + " in a row";
      setText(c[7], int(agent.completed));
      if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] || null);
    });
  }

  function setUpTable() {
    const select = $("state-filter");
    for (const s of states) { const o = el("option", "", s.replace("_", " ")); o.value = s; select.append(o); }
    for (const th of document.querySelectorAll("#agents th")) {
      th.addEventListener("click", () => {
        const key = th.dataset.key;
        if (state.sort.key === key) state.sort.desc = !state.sort.desc;
        else state.sort = { key, desc: key !== "agent" && key !== "state" && key !== "item" && key !== "step" };
        state.page = 0;
        render();
      });
    }
    for (const id of ["filter", "state-filter", "problems"]) $(id).addEventListener("input", () => { state.page = 0; render(); });
    $("prev").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); render(); });
    $("next").addEventListener("click", () => { state.page++; render(); });
  }

  // ---- once-rendered (?live=0) ----
  // Every item of a paged list (limit and cursor), at most 1,000 pages.
  function allPages(path, key) {
    const items = [];
    const page = (cursor, left) => fetch(path + "?limit=5000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""))
      .then((r) => { if (!r.ok) throw new Error(path + " answered " + r.status); return r.json(); })
      .then((list) => {
        items.push(...list[key]);
        return list.next_cursor && left > 0 ? page(list.next_cursor, left - 1) : items;
      });
    return page(null, 1000);
  }
  function getJSON(path) { return fetch(path).then((r) => r.ok ? r.json() : null).catch(() => null); }
  function snapshot() {
    setConnection("loading…", "");
    const agents = focus === null ? Promise.resolve([]) : allPages("/api/v1/jobs/" + encodeURIComponent(focus) + "/agents", "agents").catch(() => []);
    Promise.all([allPages("/api/v1/jobs", "jobs"), allPages("/api/v1/alerts", "alerts"), agents])
      .then(([jobs, alerts, agentList]) => {
        for (const job of jobs) {
          state.jobs.set(job.job, job);
          learnOffset(job);
        }
        state.alerts = alerts;
        for (const agent of agentList) state.agents.set(agent.agent, agent);
        const shown = jobs.filter((j) => focus === null || j.job === focus);
        const asks = shown.map((j) => getJSON("/api/v1/jobs/" + encodeURIComponent(j.job) + "/history")
          .then((h) => { if (h) state.histories.set(j.job, h.points); }));
        const job = focus !== null ? state.jobs.get(focus) : undefined;
        if (job && (job.failed > 0 || job.dead_lettered > 0)) {
          asks.push(getJSON("/api/v1/jobs/" + encodeURIComponent(focus) + "/failures?limit=20")
            .then((page) => { failures = { job: focus, key: "", asked: 0, page }; }));
        }
        return Promise.all(asks);
      })
      .then(() => {
        setConnection("snapshot of " + clock(now()), "snapshot");
        render();
        document.documentElement.dataset.ready = "1";
      })
      .catch((error) => {
        setConnection("could not load: " + error.message, "down");
        document.documentElement.dataset.ready = "1";
      });
  }
  // The header's link to the other mode, for the same job.
  function modeLink() {
    const link = $("mode");
    const other = new URLSearchParams(location.search);
    if (live) other.set("live", "0"); else other.delete("live");
    link.href = "/" + (other.toString() ? "?" + other.toString() : "");
    setText(link, live ? "Snapshot" : "Live");
    link.title = live ? "The current state drawn once, with no open stream (for reports and headless screenshots)" : "The live page";
    $("back").querySelector("a").href = live ? "/" : "/?live=0";
  }

  window.liveState = state;   // for tests and the curious: read-only use
  setUpTable();
  modeLink();
  if (live) {
    // The clock moves even when no event arrives: elapsed times and ages.
    setInterval(() => { if (!scheduled) render(); }, 1000);
    connect();
  } else {
    snapshot();
  }
  render();
})();
