// The live job page: polls the job's status.json (the job API's status body, plus `isTerminal`,
// `lastErrors` and, every third poll, `grid`) and redraws progress, limits, grid and tables.
"use strict";
(function () {
  const root = document.getElementById("bf-job");
  if (!root) return;
  const statusUrl = root.dataset.statusUrl;
  const cellUrl = root.dataset.cellUrl;
  const colours = JSON.parse(document.getElementById("bf-colours").textContent);
  const $ = (id) => document.getElementById(id);
  let polls = 0;
  let grid = null;

  function text(id, value) {
    const node = $(id);
    if (node) node.textContent = value;
  }

  // Every node is built here, data only ever as text or attribute values (never parsed as HTML).
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "style") node.style.background = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function row(...cells) {
    return el("tr", null, ...cells.map((c) => (c instanceof Node ? c : el("td", null, c))));
  }

  function seconds(ms) {
    return ms === null || ms === undefined ? "-" : (ms / 1000).toFixed(1) + " s";
  }

  function duration(s) {
    if (s === null || s === undefined) return "-";
    if (s < 120) return Math.round(s) + " s";
    if (s < 7200) return Math.round(s / 60) + " min";
    return (s / 3600).toFixed(1) + " h";
  }

  function districtState(d) {
    if (d.running) return "running";
    if (d.pending) return "pending";
    if (d.failed) return "failed";
    if (d.cancelled) return "cancelled";
    return "done";
  }

  function render(s) {
    const p = s.progress;
    $("bf-bar").style.width = p.percent + "%";
    $("bf-bar").parentElement.setAttribute("aria-valuenow", p.percent);
    text("bf-percent", p.percent + "%");
    text(
      "bf-counts",
      `${p.succeeded} succeeded, ${p.skipped} skipped, ${p.unavailable} unavailable, ` +
        `${p.failed} failed, ${p.cancelled} cancelled, ${p.waiting} waiting, ${p.running} running, ` +
        `${p.pending} pending of ${p.total}`
    );
    text("bf-current", p.currentDate || "-");
    text("bf-eta", s.isTerminal ? "-" : duration(p.etaSeconds));
    const badge = $("bf-status");
    badge.textContent = s.status;
    badge.className = "bf-badge " + s.status;
    text("bf-why", s.whyNotRunning || "");
    if (s.isTerminal) {
      // The page was rendered while the job ran: its pause, resume and cancel no longer apply.
      for (const id of ["bf-pause", "bf-resume", "bf-cancel"]) {
        const button = $(id);
        if (button) button.form.hidden = true;
      }
    }

    const perf = s.performanceStatus;
    const rl = perf.rateLimiter;
    text("bf-window", perf.redisAvailable ? `${rl.currentCount} of ${rl.maxRequests} per ${rl.windowMs / 1000} s` : "Redis unreachable");
    text("bf-next", seconds(rl.nextResetMs));
    text("bf-cooldown", rl.cooldownRemainingMs ? seconds(rl.cooldownRemainingMs) : "none");
    text("bf-delay", rl.effectiveDelayMs === null ? "-" : rl.effectiveDelayMs + " ms");
    text("bf-delay-reason", rl.delayReason || "-");
    text("bf-concurrency", `${perf.concurrency.active} of ${perf.concurrency.max} (${perf.concurrency.queued} units queued)`);
    const cache = perf.intermediateCache;
    text("bf-cache", cache.hitRate === null ? "-" : `${(cache.hitRate * 100).toFixed(0)}% (${cache.hits} hits, ${cache.misses} misses)`);
    const br = perf.circuitBreaker;
    text("bf-breaker", br.state === null ? "-" : br.state + (br.state === "open" ? `, probe in ${seconds(br.probeInMs)}` : "") + ` (${br.failures} failures)`);

    const lastErrors = s.lastErrors || {};
    const rows = p.districtProgress.map((d) => {
      const done = d.total - d.pending - d.running;
      return row(d.districtId, districtState(d), `${done} / ${d.total}`, d.failed,
        el("td", { class: "bf-error" }, lastErrors[d.districtId] || ""));
    });
    $("bf-districts").replaceChildren(...(rows.length ? rows : [row(el("td", { colspan: "5" }, "No units."))]));

    const e = s.errorSummary || {};
    if (e.totalErrors) {
      const types = Object.entries(e.byType || {}).map(([k, n]) => el("li", null, `${k}: ${n}`));
      $("bf-errors").replaceChildren(
        el("p", null, `${e.totalErrors} failed units: ${e.retryableErrors} retryable, ${e.permanentErrors} permanent.`),
        el("ul", null, ...types),
        e.affectedDistricts && e.affectedDistricts.length ? el("p", null, `Districts: ${e.affectedDistricts.join(", ")}`) : null
      );
    }
    if (s.grid) renderGrid(s.grid);
  }

  function renderGrid(g) {
    grid = g;
    text("bf-grid-scale", g.byWeek ? "(one column per week)" : "(one column per date)");
    const head = el("thead", null, el("tr", null, el("th"), ...g.columns.map((c) => el("th", null, c))));
    const body = g.districts.map((d, r) => {
      const cells = g.cells[r].map((status, c) => status
        ? el("td", { style: colours[status] || "#000", title: `${d} ${g.columns[c]}: ${status}`, "data-r": r, "data-c": c })
        : el("td", { class: "none" }));
      return el("tr", null, el("th", null, d === "*" ? "all" : d), ...cells);
    });
    $("bf-grid").replaceChildren(head, el("tbody", null, ...body));
  }

  $("bf-grid").addEventListener("click", async (event) => {
    const cell = event.target.closest("td[data-r]");
    if (!cell || !grid) return;
    const district = grid.districts[+cell.dataset.r];
    const column = grid.columns[+cell.dataset.c];
    const query = new URLSearchParams({ date: column, district: district });
    if (grid.byWeek) query.set("week", "1");
    const response = await fetch(`${cellUrl}?${query}`, { credentials: "same-origin" });
    const body = await response.json();
    const rows = (body.units || []).map((u) => row(
      u.date, u.districtId, u.status, u.attempts, u.requestsMade,
      u.whyNotRunning || (u.errorType ? u.errorType + ": " + u.errorMessage : u.errorMessage),
      el("td", null, u.snapshotUrl ? el("a", { href: u.snapshotUrl }, "snapshot") : null)));
    const heads = ["Date", "District", "Status", "Attempts", "Requests", "Error or reason", ""];
    $("bf-cell").replaceChildren(el("table", null,
      el("thead", null, el("tr", null, ...heads.map((h) => el("th", null, h)))),
      el("tbody", null, ...rows)));
  });

  async function poll() {
    const withGrid = polls % 3 === 0;
    polls += 1;
    try {
      const response = await fetch(statusUrl + (withGrid ? "?grid=1" : ""), { credentials: "same-origin" });
      if (!response.ok) throw new Error(response.status);
      const s = await response.json();
      render(s);
      if (s.isTerminal && grid && !withGrid) {
        // One last refresh with the grid, then stop: a finished job does not change.
        const last = await fetch(statusUrl + "?grid=1", { credentials: "same-origin" });
        render(await last.json());
        return;
      }
      if (s.isTerminal && withGrid) return;
    } catch (error) {
      text("bf-why", "Could not refresh the status (" + error + "); retrying.");
    }
    setTimeout(poll, 2000);
  }

  render(JSON.parse(document.getElementById("bf-initial").textContent));
  poll();
})();
