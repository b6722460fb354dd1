// Click-to-call: a tel: link dials (the browser or softphone takes it) and opens a small dialog
// to log the call — outcome, notes, a running timer that fills the duration, Save / Escape.
// Without JavaScript the tel: link still dials and the "Log call" link beside it opens the
// same form as a page. The form comes from the server (/calls/log/?partial=1), so its labels
// are translated and its fields validated in one place.
(function () {
  "use strict";
  if (window.KreisCalls) return; // the script is included beside every number
  window.KreisCalls = true;

  function startTimer(output, durationField) {
    var started = Date.now();
    var edited = false;
    if (durationField) {
      durationField.addEventListener("input", function () { edited = true; });
    }
    function tick() {
      var seconds = Math.floor((Date.now() - started) / 1000);
      var rest = seconds % 60;
      output.textContent = Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
      if (durationField && !edited) {
        durationField.value = String(Math.ceil(seconds / 60));
      }
    }
    tick();
    return window.setInterval(tick, 1000);
  }

  var dialog = null;
  var timer = null;

  function closeDialog() {
    if (timer) { window.clearInterval(timer); timer = null; }
    if (dialog && dialog.open) dialog.close();
  }

  function ensureDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "kreis-call-dialog border rounded-3 shadow p-0";
    dialog.setAttribute("aria-labelledby", "kreis-call-dialog-title");
    dialog.style.width = "min(34rem, calc(100vw - 1rem))"; // CSSOM, allowed by the CSP
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      if (timer) { window.clearInterval(timer); timer = null; }
    });
    return dialog;
  }

  function showErrors(form, errors) {
    var box = form.querySelector("[data-call-log-error]");
    var texts = [];
    Object.keys(errors || {}).forEach(function (name) {
      (errors[name] || []).forEach(function (e) { texts.push(e.message); });
    });
    box.textContent = texts.join(" ");
    box.classList.toggle("d-none", texts.length === 0);
  }

  function wire(form, title) {
    var output = form.querySelector("[data-call-timer]");
    form.querySelector("[data-call-timer-row]").classList.remove("d-none");
    timer = startTimer(output, form.querySelector("[name=duration_minutes]"));
    form.querySelector("[data-call-log-cancel]").addEventListener("click", function (event) {
      event.preventDefault();
      closeDialog();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("[type=submit]");
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      }).then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      }).then(function (answer) {
        button.disabled = false;
        if (answer.ok) {
          closeDialog();
          window.location.reload();
        } else {
          showErrors(form, answer.data.errors);
        }
      }).catch(function () {
        button.disabled = false;
        showErrors(form, { __all__: [{ message: title.dataset.failed }] });
      });
    });
    var first = form.querySelector("input[type=radio]:checked") || form.querySelector("input[type=radio]");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-call-log]") : null;
    if (!link) return;
    // No preventDefault: the tel: link goes on to dial.
    var box = ensureDialog();
    var url = link.getAttribute("data-call-log");
    fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "partial=1", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        var title = box.querySelector("[data-call-dialog-title]");
        if (!box.open) box.showModal();
        wire(box.querySelector("form"), title);
      })
      .catch(function () {
        window.location.href = url; // the form page, as without JavaScript
      });
  });

  // Working a call list: the timer runs from the moment the entry is shown.
  document.addEventListener("DOMContentLoaded", function () {
    var output = document.querySelector("[data-call-timer-start]");
    var form = document.querySelector("[data-call-timer-form]");
    if (output && form) startTimer(output, form.querySelector("[name=duration_minutes]"));
  });
})();
