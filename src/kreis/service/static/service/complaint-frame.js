/* The complaint form inside the iframe of embed.js: tells the embedding page how tall the
   form is, so the frame fits it — only to the page's origin that Kreis checked (the html
   element's data-parent-origin); nothing else leaves the frame. */
(function () {
  "use strict";
  var parentOrigin = document.documentElement.getAttribute("data-parent-origin");
  if (!parentOrigin || window.parent === window) { return; }
  var last = 0;
  var scrollTop = false;
  function send() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last && !scrollTop) { return; }
    last = height;
    window.parent.postMessage({ type: "kreis-complaint-height", height: height, top: scrollTop }, parentOrigin);
    scrollTop = false;
  }
  document.addEventListener("DOMContentLoaded", function () {
    // After sending (the thank-you page, or the form again with errors) the top should show.
    scrollTop = !!document.querySelector("[data-scroll-top], .alert");
    send();
    if (window.ResizeObserver) { new ResizeObserver(send).observe(document.body); }
    window.addEventListener("load", send);
  });
})();
