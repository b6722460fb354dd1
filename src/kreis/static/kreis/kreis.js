// Kreis app shell behaviour. No inline scripts anywhere: the Content-Security-Policy forbids them.

// The one escape for text that ends up in HTML built by script: every chart tooltip formatter
// (ECharts puts a formatter's string into the page as HTML) passes user values through it.
window.Kreis = window.Kreis || {};
window.Kreis.escapeHtml = function (value) {
  var replacements = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
    return replacements[c];
  });
};

(function () {
  "use strict";

  // "/" focuses the global search, Escape leaves it and closes its results.
  document.addEventListener("keydown", function (event) {
    var search = document.getElementById("global-search");
    if (!search) return;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || event.target.isContentEditable;
    if (event.key === "/" && !typing) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (event.key === "Escape" && event.target === search) {
      document.getElementById("search-results").innerHTML = "";
      search.blur();
    } else if (event.key === "ArrowDown" && event.target === search) {
      var first = document.querySelector("#search-results a");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });

  // Buttons with data-confirm ask before they submit.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // Close the search results when clicking elsewhere.
  document.addEventListener("click", function (event) {
    var box = document.getElementById("search-results");
    if (box && !event.target.closest(".kreis-search")) box.innerHTML = "";
  });

  // Phones: a list's filters fold behind its Filter button (kreis.css). The badge counts the
  // filters in use, so a folded filter is never forgotten.
  function countFilters(form) {
    var count = 0;
    form.querySelectorAll("input[name], select[name]").forEach(function (field) {
      if (field.type === "hidden" || field.type === "search" || field.name === "sort") return;
      if (field.type === "checkbox" || field.type === "radio" ? field.checked : field.value) count += 1;
    });
    var badge = form.querySelector(".filter-count");
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count === 0;
    }
  }
  document.querySelectorAll("form.list-filters").forEach(countFilters);
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form.list-filters");
    if (form) countFilters(form);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-filter-toggle]");
    if (!button) return;
    var open = button.closest("form").classList.toggle("filters-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Alpine components (CSP build: components are registered here, not written inline).
  document.addEventListener("alpine:init", function () {
    window.Alpine.data("copyField", function () {
      return {
        copy: function () {
          var field = this.$refs.field;
          var done = document.documentElement.lang === "de" ? "Kopiert" : "Copied";
          field.select();
          if (navigator.clipboard) {
            navigator.clipboard.writeText(field.value).then(() => { this.$refs.label.textContent = done; });
          } else {
            document.execCommand("copy");
            this.$refs.label.textContent = done;
          }
        },
      };
    });
  });
})();
