/**
 * The console's only script, served as a file (the CSP allows no inline
 * script; see assets.ts). It adds the live parts to pages that work
 * without it: a `tbody[data-live-rows]` is re-fetched every few seconds while
 * the tab is visible, and a `[data-event-source]` table gets each task event
 * from the SSE endpoint as it is stored (the browser resumes with
 * Last-Event-ID after a drop). Rows are built with textContent: event text
 * never becomes markup.
 */
export const LIVE_SCRIPT = `"use strict";
(function () {
  var REFRESH_MS = 2000;

  function setStatus(text) {
    var el = document.querySelector("[data-live-status]");
    if (el) el.textContent = text;
  }

  function clock(iso) {
    return iso ? iso.slice(11, 23) : "";
  }

  // Lists: re-fetch the rows fragment while the page is visible.
  var rows = document.querySelector("tbody[data-live-rows]");
  if (rows) {
    var timer = null;
    var busy = false;
    var refresh = function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(rows.getAttribute("data-live-rows"), { credentials: "same-origin", headers: { accept: "text/html" }, redirect: "manual", cache: "no-store" })
        .then(function (res) {
          if (res.status !== 200) throw new Error("status " + res.status);
          return res.text();
        })
        .then(function (text) {
          if (rows.innerHTML !== text) rows.innerHTML = text;
          setStatus("Live: updated at " + new Date().toISOString().slice(11, 19) + " UTC");
        })
        .catch(function () {
          setStatus("Live updates paused: reload the page (you may need to sign in again).");
          window.clearInterval(timer);
        })
        .then(function () {
          busy = false;
        });
    };
    timer = window.setInterval(refresh, REFRESH_MS);
    document.addEventListener("visibilitychange", refresh);
  }

  // A task's events: append each one as it is stored.
  var table = document.querySelector("[data-event-source]");
  if (!table) return;
  var body = table.querySelector("tbody");
  var stateTag = document.querySelector("[data-task-state]");
  var output = document.querySelector("[data-task-output]");
  var steps = document.querySelector("tbody[data-steps]");
  var seen = {};
  Array.prototype.forEach.call(body.querySelectorAll("tr[data-seq]"), function (tr) {
    seen[tr.getAttribute("data-seq")] = true;
  });

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function refreshSteps() {
    if (!steps) return;
    fetch(steps.getAttribute("data-steps"), { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (res) {
        return res.status === 200 ? res.text() : null;
      })
      .then(function (text) {
        if (text !== null && steps.innerHTML !== text) steps.innerHTML = text;
      })
      .catch(function () {});
  }

  function show(ev) {
    if (seen[String(ev.seq)]) return;
    seen[String(ev.seq)] = true;
    var empty = body.querySelector("tr.empty-row");
    if (empty) empty.remove();
    var tr = document.createElement("tr");
    tr.setAttribute("data-seq", String(ev.seq));
    tr.setAttribute("data-type", ev.type);
    cell(tr, String(ev.seq));
    cell(tr, clock(ev.time));
    cell(tr, ev.type);
    cell(tr, ev.state);
    cell(tr, [ev.step_id ? "step " + ev.step_id : "", ev.agent_id ? "agent " + ev.agent_id : ""].filter(Boolean).join(" · "));
    cell(tr, ev.message, "wrap");
    cell(tr, ev.type === "output" ? ev.output : "", "wrap pre");
    body.appendChild(tr);
    if (stateTag && ev.state) {
      stateTag.textContent = ev.state;
      stateTag.setAttribute("data-task-state", ev.state);
      stateTag.className = ev.state === "completed" ? "tag on" : ev.state === "failed" || ev.state === "cancelled" ? "tag off" : "tag";
    }
    var ended = document.querySelector("[data-task-ended]");
    if (ended && ev.time && (ev.type === "completed" || ev.type === "failed" || ev.type === "cancelled")) {
      ended.textContent = ev.time.slice(0, 16).replace("T", " ") + " UTC";
    }
    if (output) {
      if (ev.type === "output") output.textContent += ev.output;
      if (ev.type === "completed" && ev.output) output.textContent = ev.output;
    }
    if (ev.type === "step_started" || ev.type === "step_finished") refreshSteps();
  }

  var source = new EventSource(table.getAttribute("data-event-source"));
  setStatus("Live: following events");
  source.addEventListener("task", function (e) {
    show(JSON.parse(e.data));
  });
  source.addEventListener("end", function () {
    source.close();
    refreshSteps();
    setStatus("The task has ended.");
    var cancel = document.querySelector("[data-cancel-form]");
    if (cancel) cancel.hidden = true;
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) setStatus("Live updates stopped: reload the page.");
    else setStatus("Reconnecting…");
  });
})();
`;
