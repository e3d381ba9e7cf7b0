// The narration player: custom controls over an <audio> element, a
// read-along transcript and a chapter list, all read from the page's
// markup. No network requests of its own, no cookies, no storage.
(function () {
  "use strict";
  var root = document.getElementById("player");
  var audio = document.getElementById("audio");
  if (!root || !audio) return;
  var $ = function (id) { return document.getElementById(id); };
  var play = $("play"), back = $("back"), forward = $("forward");
  var seek = $("seek"), elapsed = $("elapsed"), total = $("total");
  var speed = $("speed"), status = $("status"), transcript = $("transcript");
  var sentences = Array.prototype.slice.call(document.querySelectorAll(".transcript .s"));
  var chapters = Array.prototype.slice.call(document.querySelectorAll(".chapter"));
  var starts = sentences.map(function (s) { return parseFloat(s.getAttribute("data-start")); });
  var chapterStarts = chapters.map(function (c) { return parseFloat(c.getAttribute("data-start")); });
  var active = -1, activeChapter = -1, dragging = false;

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
  chapters.forEach(function (c, i) {
    c.addEventListener("click", function () { jump(chapterStarts[i]); });
  });
  sentences.forEach(function (s, i) {
    s.addEventListener("click", function () {
      jump(starts[i]);
      if (audio.paused) toggle();
    });
  });
  audio.addEventListener("loadedmetadata", function () {
    seek.max = duration();
    total.textContent = clock(duration());
    update();
  });
  audio.addEventListener("play", function () {
    play.setAttribute("aria-pressed", "true");
    play.setAttribute("aria-label", "Pause");
    status.textContent = "";
    window.requestAnimationFrame(tick);
  });
  audio.addEventListener("pause", function () {
    play.setAttribute("aria-pressed", "false");
    play.setAttribute("aria-label", "Play");
    update();
  });
  audio.addEventListener("timeupdate", update);
  audio.addEventListener("seeked", update);
  audio.addEventListener("ratechange", function () { speed.value = String(audio.playbackRate); });
  audio.addEventListener("error", function () { status.textContent = "The audio could not be loaded."; });

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
