// The one-line embed: <script src=".../player/embed.js" data-narration="KEY" async></script>
// inserts the narration's player page, from the same folder as this script,
// in an iframe after the script element.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var key = script.getAttribute("data-narration") || "";
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(key)) return;
  var base = script.src.replace(/[^\/]*$/, "");
  var frame = document.createElement("iframe");
  frame.src = base + key + ".html";
  frame.title = script.getAttribute("data-title") || "Listen to this article";
  frame.loading = "lazy";
  frame.referrerPolicy = "strict-origin-when-cross-origin";
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = (parseInt(script.getAttribute("data-height"), 10) || 420) + "px";
  window.addEventListener("message", function (e) {
    if (e.source !== frame.contentWindow || !e.data || e.data.type !== "narrator:height") return;
    var h = Math.ceil(Number(e.data.height));
    if (h > 0 && h < 10000) frame.style.height = h + "px";
  });
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
