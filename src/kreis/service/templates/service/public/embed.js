/* Kreis complaint form: put this script where the form should appear. It inserts an iframe
   with the form right after the script tag and keeps the frame as tall as the form, from the
   height the frame reports (postMessage; messages from other origins or windows are ignored).
   Options: data-lang="de" or "en"; data-title (the frame's title for screen readers). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var origin = new URL(script.src, window.location.href).origin;
  var url = new URL("{{ embed_path|escapejs }}", origin);
  var lang = script.getAttribute("data-lang");
  if (lang === "de" || lang === "en") { url.searchParams.set("lang", lang); }
  url.searchParams.set("parent", window.location.origin);
  var frame = document.createElement("iframe");
  frame.src = url.href;
  frame.title = script.getAttribute("data-title") || (lang === "de" ? "Beschwerdeformular" : "Complaint form");
  frame.setAttribute("width", "100%");
  frame.setAttribute("height", "1100");
  frame.style.border = "0";
  frame.style.display = "block";
  frame.style.width = "100%";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
    var data = event.data;
    if (!data || data.type !== "kreis-complaint-height") { return; }
    var height = Math.ceil(Number(data.height));
    if (height > 0 && height < 20000) { frame.style.height = height + "px"; }
    if (data.top && frame.getBoundingClientRect().top < 0) { frame.scrollIntoView({ block: "start" }); }
  });
})();
