// The narration player: custom controls over an <audio> element, a
// read-along transcript and a chapter list, all read from the page's
// markup. No network requests of its own, no cookies, no storage, except
// on the page of a narration still being made (data-live), which plays the
// live stream and looks for the published page every few seconds, then
// switches to the published file at the same moment, without a pause.
(function () {
  "use strict";
  var root = document.getElementById("player");
  var audio = document.getElementById("audio");
  if (!root || !audio) return;
  var $ = function (id) { return document.getElementById(id); };
  var play = $("play"), back = $("back"), forward = $("forward");
  var seek = $("seek"), elapsed = $("elapsed"), total = $("total");
  var speed = $("speed"), status = $("status"), transcript = $("transcript");
  var sentences, chapters, starts, chapterStarts, wordEls, wordStarts;
  var active = -1, activeChapter = -1, activeWord = null, dragging = false;
  var live = document.documentElement.hasAttribute("data-live");

  // readMarkup reads the transcript and chapters, again after a switch.
  function readMarkup() {
    sentences = Array.prototype.slice.call(document.querySelectorAll(".transcript .s"));
    chapters = Array.prototype.slice.call(document.querySelectorAll(".chapter"));
    starts = sentences.map(function (s) { return parseFloat(s.getAttribute("data-start")); });
    // Words are timed where speech recognition heard them (see the
    // listening check); sentences without them highlight whole.
    wordEls = sentences.map(function (s) { return Array.prototype.slice.call(s.querySelectorAll(".w")); });
    wordStarts = wordEls.map(function (ws) { return ws.map(function (w) { return parseFloat(w.getAttribute("data-start")); }); });
    activeWord = null;
    chapterStarts = chapters.map(function (c) { return parseFloat(c.getAttribute("data-start")); });
    active = -1;
    activeChapter = -1;
    chapters.forEach(function (c, i) {
      c.addEventListener("click", function () { jump(chapterStarts[i]); });
    });
    sentences.forEach(function (s, i) {
      s.addEventListener("click", function () {
        jump(starts[i]);
        if (audio.paused) toggle();
      });
    });
  }

  // With scripts running, the custom controls replace the native ones.
  audio.removeAttribute("controls");
  document.documentElement.classList.add("js");
  $("controls").hidden = false;

  function clock(t) {
    t = Math.max(0, Math.floor(t || 0));
    var h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
    var mm = h ? (m < 10 ? "0" : "") + m : String(m);
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }
  function words(t) {
    t = Math.max(0, Math.floor(t || 0));
    var m = Math.floor(t / 60), s = t % 60, out = [];
    if (m) out.push(m + (m === 1 ? " minute" : " minutes"));
    if (s || !m) out.push(s + (s === 1 ? " second" : " seconds"));
    return out.join(" ");
  }
  // last returns the index of the last start at or before t, or -1.
  function last(list, t) {
    var lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid] <= t + 0.0005) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  function duration() {
    return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : parseFloat(seek.max) || 0;
  }
  function follow(el) {
    // Scroll the transcript box only, never the page around the player.
    var box = transcript.getBoundingClientRect(), r = el.getBoundingClientRect();
    if (r.top < box.top || r.bottom > box.bottom) {
      transcript.scrollTop += r.top - box.top - transcript.clientHeight / 3;
    }
  }
  function update() {
    var t = audio.currentTime;
    elapsed.textContent = clock(t);
    if (!dragging) seek.value = t;
    seek.setAttribute("aria-valuetext", words(t) + " of " + words(duration()));
    var i = last(starts, t);
    if (i !== active) {
      if (active >= 0) { sentences[active].classList.remove("on"); sentences[active].removeAttribute("aria-current"); }
      active = i;
      if (i >= 0) { sentences[i].classList.add("on"); sentences[i].setAttribute("aria-current", "true"); follow(sentences[i]); }
    }
    var w = active >= 0 ? wordEls[active][last(wordStarts[active], t)] || null : null;
    if (w !== activeWord) {
      if (activeWord) activeWord.classList.remove("on");
      activeWord = w;
      if (w) w.classList.add("on");
    }
    var c = last(chapterStarts, t);
    if (c !== activeChapter) {
      if (activeChapter >= 0) { chapters[activeChapter].classList.remove("on"); chapters[activeChapter].removeAttribute("aria-current"); }
      activeChapter = c;
      if (c >= 0) { chapters[c].classList.add("on"); chapters[c].setAttribute("aria-current", "true"); }
    }
  }
  function tick() {
    update();
    if (!audio.paused) window.requestAnimationFrame(tick);
  }
  function jump(t) {
    audio.currentTime = Math.min(Math.max(0, t), duration());
    update();
  }
  function toggle() {
    if (audio.paused) {
      var p = audio.play();
      if (p && p.catch) p.catch(function (e) { status.textContent = "Cannot play: " + e.message; });
    } else {
      audio.pause();
    }
  }
  function setSpeed(v) {
    audio.playbackRate = v;
    speed.value = String(v);
  }
  var speeds = [0.75, 1, 1.25, 1.5, 1.75, 2];

  play.addEventListener("click", toggle);
  back.addEventListener("click", function () { jump(audio.currentTime - 15); });
  forward.addEventListener("click", function () { jump(audio.currentTime + 30); });
  speed.addEventListener("change", function () { setSpeed(parseFloat(speed.value)); });
  seek.addEventListener("input", function () { dragging = true; elapsed.textContent = clock(parseFloat(seek.value)); });
  seek.addEventListener("change", function () { dragging = false; jump(parseFloat(seek.value)); });
  // bindAudio follows an audio element; only the current one counts, so
  // the live stream's element says nothing once it is switched out.
  function bindAudio(a) {
    function on(name, fn) {
      a.addEventListener(name, function () { if (a === audio) fn(); });
    }
    on("loadedmetadata", function () {
      if (live) return; // a stream has no length
      seek.max = duration();
      total.textContent = clock(duration());
      update();
    });
    on("play", function () {
      play.setAttribute("aria-pressed", "true");
      play.setAttribute("aria-label", "Pause");
      status.textContent = "";
      window.requestAnimationFrame(tick);
    });
    on("pause", function () {
      play.setAttribute("aria-pressed", "false");
      play.setAttribute("aria-label", "Play");
      update();
    });
    on("timeupdate", update);
    on("seeked", update);
    on("ratechange", function () { speed.value = String(audio.playbackRate); });
    on("error", function () { status.textContent = "The audio could not be loaded."; });
  }
  readMarkup();
  bindAudio(audio);

  // switchTo moves playback to the published page's file at the moment the
  // stream has reached (the same bytes after the file's header, so the
  // same time), then shows the page's chapters and transcript.
  function switchTo(doc) {
    var fresh = doc.getElementById("audio");
    if (!fresh) return;
    var next = document.createElement("audio");
    next.id = "audio";
    next.preload = "auto";
    next.setAttribute("aria-describedby", "disclosure");
    next.playbackRate = audio.playbackRate;
    bindAudio(next);
    next.addEventListener("loadedmetadata", function () { next.currentTime = audio.currentTime; }, { once: true });
    next.addEventListener("seeked", function () {
      var old = audio, playing = !old.paused && !old.ended;
      live = false;
      audio = next;
      old.replaceWith(next);
      if (playing) {
        next.currentTime = old.currentTime; // the stream played on while the file was found
        var p = next.play();
        if (p && p.catch) p.catch(function (e) { status.textContent = "Cannot play: " + e.message; });
      }
      old.pause();
      old.removeAttribute("src");
      old.load();
      var nav = doc.querySelector(".chapters");
      if (nav) transcript.parentNode.insertBefore(document.importNode(nav, true), transcript);
      var t = document.importNode(doc.getElementById("transcript"), true);
      transcript.replaceWith(t);
      transcript = t;
      var notice = $("live");
      if (notice) notice.remove();
      document.documentElement.removeAttribute("data-live");
      back.disabled = forward.disabled = seek.disabled = false;
      seek.max = duration();
      total.textContent = clock(duration());
      readMarkup();
      update();
    }, { once: true });
    next.src = fresh.getAttribute("src");
  }
  function watch() {
    window.setTimeout(function () {
      window.fetch(window.location.href, { cache: "no-store", credentials: "omit" }).then(function (r) {
        return r.ok ? r.text() : "";
      }).then(function (html) {
        var doc = html ? new DOMParser().parseFromString(html, "text/html") : null;
        if (doc && !doc.documentElement.hasAttribute("data-live") && doc.getElementById("audio")) {
          switchTo(doc);
        } else {
          watch();
        }
      }, watch);
    }, 2000);
  }
  if (live) {
    back.disabled = forward.disabled = seek.disabled = true;
    watch();
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var tag = e.target && e.target.tagName;
    var onRange = e.target === seek, onSelect = tag === "SELECT", onButton = tag === "BUTTON" || tag === "A";
    var k = e.key;
    if ((k === " " && !onButton && !onSelect) || k === "k" || k === "K") {
      toggle();
    } else if (((k === "ArrowLeft") && !onRange && !onSelect) || k === "j" || k === "J") {
      jump(audio.currentTime - 15);
    } else if (((k === "ArrowRight") && !onRange && !onSelect) || k === "l" || k === "L") {
      jump(audio.currentTime + 30);
    } else if (k === ">" || k === "<") {
      var i = speeds.indexOf(audio.playbackRate);
      if (i < 0) i = 1;
      setSpeed(speeds[Math.min(speeds.length - 1, Math.max(0, i + (k === ">" ? 1 : -1)))]);
    } else {
      return;
    }
    e.preventDefault();
  });

  // Tell an embedding page how tall the player's content is, so its iframe
  // fits: the body's own height, which shrinks when the frame widens (the
  // document's scrollHeight never drops below the frame's height).
  if (window.parent !== window && window.ResizeObserver) {
    new ResizeObserver(function () {
      window.parent.postMessage({ type: "narrator:height", height: Math.ceil(document.body.getBoundingClientRect().height) }, "*");
    }).observe(document.body);
  }
  update();
})();
