/* Kreis web form: put this script where the form should appear. It inserts an iframe with
   the form right after the script tag, passes this page's address, referrer (for UTM
   parameters and the campaign) and, if the page set one with consent, the visitor id
   (cookie kreis_vid) along, and keeps the frame as tall as the form from the height the frame
   reports (postMessage; messages from other origins or windows are ignored).
   Option: data-title (the frame's title for screen readers). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var origin = new URL(script.src, window.location.href).origin;
  var url = new URL("{{ embed_path|escapejs }}", origin);
  url.searchParams.set("parent", window.location.origin);
  url.searchParams.set("page", window.location.href.slice(0, 1000));
  if (document.referrer) { url.searchParams.set("ref", document.referrer.slice(0, 1000)); }
  var vid = document.cookie.match(/(?:^|;\s*)kreis_vid=([A-Za-z0-9_-]{8,64})/);
  if (vid) { url.searchParams.set("vid", vid[1]); }
  var frame = document.createElement("iframe");
  frame.src = url.href;
  frame.title = script.getAttribute("data-title") || "{{ title|escapejs }}";
  frame.setAttribute("width", "100%");
  frame.setAttribute("height", "900");
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
