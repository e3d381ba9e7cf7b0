// narrator dashboard: live progress over server-sent events, and
// confirmation of destructive forms. No dependencies.
"use strict";

const finalKinds = new Set(["done", "failed", "unpublished"]);

// Same stages and weights as the server's progress().
function setProgress(bar, percent, state) {
  if (!bar) return;
  bar.value = percent;
  bar.textContent = percent + "%";
  bar.className = "state-" + state;
}

function setBadge(el, state) {
  if (!el) return;
  el.textContent = state;
  el.className = "badge state-" + state;
}

// The narration page follows its job until the job ends, then reloads to
// show the preview, timings and cost.
function followNarration(job) {
  const id = job.dataset.job;
  if (finalKinds.has(job.dataset.state)) return;
  const bar = document.getElementById("progress");
  const percent = document.getElementById("percent");
  const grid = document.getElementById("chunks");
  const count = document.getElementById("chunk-count");
  const es = new EventSource("/api/narrations/" + encodeURIComponent(id) + "/events");
  let total = Number(job.dataset.chunks) || 0;

  function cell(i) {
    while (grid.children.length < Math.max(total, i + 1)) {
      const c = document.createElement("span");
      c.className = "chunk chunk-pending";
      c.dataset.index = String(grid.children.length);
      grid.appendChild(c);
    }
    return grid.children[i];
  }

  es.onmessage = (msg) => {
    const e = JSON.parse(msg.data);
    job.dataset.state = e.state;
    setBadge(document.getElementById("state"), e.state);
    if (e.stage) document.getElementById("stage").textContent = e.stage;
    setProgress(bar, e.progress, e.state);
    percent.textContent = e.progress + "%";
    if (e.kind === "stage_done" && e.chunks) {
      total = e.chunks;
      cell(total - 1);
    }
    if (e.kind === "chunk_done") {
      // Zero values are left out of the JSON: chunk 0 has no "chunk".
      total = Math.max(total, e.chunks || 0);
      const c = cell(e.chunk || 0);
      c.className = "chunk chunk-done";
      count.textContent = (e.done || 0) + " of " + total + " done";
    }
    if (e.kind === "retry" && e.message) {
      const live = document.getElementById("live-error");
      live.textContent = "Retrying: " + e.message;
      live.hidden = false;
    }
    if (finalKinds.has(e.kind)) {
      es.close();
      window.location.reload();
    }
  };
  es.addEventListener("end", () => es.close());
}

// The list page updates the rows of narrations in progress, and says when
// narrations it does not show have started.
function followList(table) {
  const es = new EventSource("/api/events");
  // Once open, every narration event from here on reaches the page.
  es.onopen = () => { table.dataset.live = "true"; };
  es.onerror = () => { table.dataset.live = "false"; };
  es.onmessage = (msg) => {
    const e = JSON.parse(msg.data);
    const row = table.querySelector('tr[data-job="' + CSS.escape(e.job) + '"]');
    if (!row) {
      document.getElementById("new-jobs").hidden = false;
      return;
    }
    row.dataset.state = e.state;
    setBadge(row.querySelector(".badge"), e.state);
    setProgress(row.querySelector("progress"), e.progress, e.state);
  };
}

document.addEventListener("DOMContentLoaded", () => {
  const job = document.getElementById("job");
  if (job) followNarration(job);
  const table = document.getElementById("narrations");
  if (table) followList(table);

  const play = document.getElementById("play-preview");
  const audio = document.getElementById("preview");
  if (play && audio) {
    play.addEventListener("click", () => {
      if (audio.paused) {
        audio.play().catch((err) => {
          play.textContent = "Cannot play: " + err.message;
        });
      } else {
        audio.pause();
      }
    });
    audio.addEventListener("play", () => { play.textContent = "Pause preview"; });
    audio.addEventListener("pause", () => { play.textContent = "Play preview"; });
  }

  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
});
