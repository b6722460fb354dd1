// The inbox's keys: j / k move, x selects, e marks done, a assigns, Enter opens; and the
// "select all" box. Keys are ignored while typing in a field.
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("#inbox-rows tr.inbox-row")); }
  var current = -1;
  function mark(index) {
    var list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (row, i) { row.classList.toggle("inbox-current", i === current); });
    list[current].scrollIntoView({ block: "nearest" });
  }
  function press(key) {
    var button = document.querySelector('#inbox-bulk button[data-key="' + key + '"]');
    if (!button) return;
    if (!document.querySelector("#inbox-rows .inbox-select:checked") && current >= 0) {
      rows()[current].querySelector(".inbox-select").checked = true;
    }
    button.click();
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, select, textarea, [contenteditable]")) return;
    if (!document.getElementById("inbox-bulk")) return;
    var list = rows();
    if (event.key === "j") { mark(current + 1); }
    else if (event.key === "k") { mark(current < 0 ? 0 : current - 1); }
    else if (event.key === "x" && current >= 0) {
      var box = list[current].querySelector(".inbox-select");
      box.checked = !box.checked;
    } else if (event.key === "e") { press("e"); }
    else if (event.key === "a") {
      var select = document.querySelector("#inbox-bulk select[name=assignee]");
      if (select) { select.focus(); }
    } else if (event.key === "Enter" && current >= 0) {
      window.location.href = list[current].dataset.href;
    } else { return; }
    event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    if (event.target.id === "inbox-all") {
      document.querySelectorAll("#inbox-rows .inbox-select").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
  });
})();
