// narrator dashboard: live progress over server-sent events, and
// confirmation of destructive forms. No dependencies.
"use strict";

const finalKinds = new Set(["done", "failed", "unpublished"]);

// setProgress shows a job's progress. A narration page's events replay
// from the revision's first, so a page that joins mid-way hears older,
// lower figures first: the bar only moves forward, unless a new revision
// starts (newRevision) or the job failed.
function setProgress(bar, percent, state, newRevision) {
  if (!bar) return 0;
  const now = Number(bar.value) || 0;
  if (percent >= now || state === "failed" || newRevision) {
    bar.value = percent;
    bar.textContent = percent + "%";
  }
  bar.className = "state-" + state;
  return Number(bar.value);
}

function setBadge(el, state) {
  if (!el) return;
  el.textContent = state;
  el.className = "badge state-" + state;
}

// refresher re-renders the page's live panels (data-panel) from the
// server when events say they changed: stage timings, cost, chunk details
// and the words to review. Requests never overlap; events that arrive
// during one are folded into one more.
function refresher() {
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        for (const el of document.querySelectorAll("[data-panel]")) {
          const fresh = doc.getElementById(el.id);
          if (fresh) el.replaceWith(document.importNode(fresh, true));
        }
        document.dispatchEvent(new CustomEvent("narrator:refreshed"));
      }
    } catch (err) {
      // The next event tries again.
    }
    busy = false;
    if (again) {
      again = false;
      refresh();
    }
  }
  return refresh;
}

// The narration page follows its job: progress, state and chunks from each
// event, the other panels re-rendered as events change them; when the job
// ends the page reloads to show the preview.
function followNarration(job) {
  const id = job.dataset.job;
  if (finalKinds.has(job.dataset.state)) return;
  const bar = document.getElementById("progress");
  const percent = document.getElementById("percent");
  const refresh = refresher();
  const es = new EventSource("/api/narrations/" + encodeURIComponent(id) + "/events");
  let total = Number(job.dataset.chunks) || 0;
  let done = Number(job.dataset.done) || 0;

  function cell(i) {
    const grid = document.getElementById("chunks");
    while (grid.children.length < Math.max(total, i + 1)) {
      const c = document.createElement("span");
      c.className = "chunk chunk-pending";
      c.dataset.index = String(grid.children.length);
      grid.appendChild(c);
    }
    return grid.children[i];
  }
  function count() {
    const el = document.getElementById("chunk-count");
    if (el) el.textContent = done + " of " + total + " done";
  }

  es.onopen = () => { job.dataset.live = "true"; };
  es.onmessage = (msg) => {
    const e = JSON.parse(msg.data);
    job.dataset.state = e.state;
    setBadge(document.getElementById("state"), e.state);
    if (e.stage) document.getElementById("stage").textContent = e.stage;
    percent.textContent = setProgress(bar, e.progress, e.state) + "%";
    if (e.kind === "stage_done" && e.chunks) {
      total = e.chunks;
      cell(total - 1);
      count();
    }
    if (e.kind === "chunk_done") {
      // Zero values are left out of the JSON: chunk 0 has no "chunk".
      total = Math.max(total, e.chunks || 0);
      done = Math.max(done, e.done || 0);
      cell(e.chunk || 0).className = "chunk chunk-done";
      count();
    }
    if (e.kind === "retry" && e.message) {
      const live = document.getElementById("live-error");
      live.textContent = "Retrying: " + e.message;
      live.hidden = false;
    }
    if (finalKinds.has(e.kind)) {
      es.close();
      window.location.reload();
      return;
    }
    if (e.kind !== "queued") refresh();
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
    setProgress(row.querySelector("progress"), e.progress, e.state, e.kind === "queued");
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

  // "Play this spot" plays the preview from the time the button holds:
  // where the listening check heard a chunk differ from its text.
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest ? ev.target.closest("button.play-spot") : null;
    const preview = document.getElementById("preview");
    if (!b || !preview) return;
    const start = () => {
      preview.currentTime = Number(b.dataset.at) || 0;
      preview.play().catch((err) => {
        b.textContent = "Cannot play: " + err.message;
      });
    };
    if (preview.readyState >= HTMLMediaElement.HAVE_METADATA) start();
    else preview.addEventListener("loadedmetadata", start, { once: true });
  });

  // Forms in re-rendered panels are new elements: confirm through the
  // document, not each form.
  document.addEventListener("submit", (ev) => {
    const form = ev.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) ev.preventDefault();
  });
});
