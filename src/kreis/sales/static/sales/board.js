// The deal board: drag cards between stage columns (SortableJS) or pick a stage in a card's
// select. Each move is POSTed with the card's updated_at token; the server answers with the
// updated card (200), a refusal because someone else changed the deal (409), or an error.
// A card's forecast category is set the same way: choosing it in the card's select saves it.
// No inline scripts anywhere: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  var board, alertBox, modalEl, modalForm, pending = null, confirmed = false;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function showMessage(node) {
    alertBox.innerHTML = "";
    alertBox.appendChild(node);
  }

  function showText(text, level) {
    var div = document.createElement("div");
    div.className = "alert alert-" + (level || "danger") + " mb-2";
    div.setAttribute("role", "alert");
    div.textContent = text;
    showMessage(div);
  }

  function columnOf(stageId) {
    return board.querySelector('.deal-column[data-stage-id="' + stageId + '"]');
  }

  function replaceHeads(fragment) {
    fragment.querySelectorAll("[data-column-summary]").forEach(function (head) {
      var column = columnOf(head.getAttribute("data-column-summary"));
      var old = column && column.querySelector(".deal-column-head");
      if (old) old.replaceWith(head);
    });
  }

  function refreshColumn(stageId) {
    var column = columnOf(stageId);
    if (!column) return;
    fetch(column.dataset.columnUrl, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = parse(html).querySelector(".deal-column");
        if (!fresh) return;
        column.replaceWith(fresh);
        initColumn(fresh.querySelector(".deal-column-cards"));
        if (window.htmx) window.htmx.process(fresh);
      })
      .catch(function () { /* the message already says what happened */ });
  }

  function send(move, extra) {
    var card = move.card;
    var data = new FormData();
    data.append("stage", move.stageId);
    data.append("position", String(move.index));
    data.append("updated_at", card.dataset.updatedAt);
    Object.keys(extra || {}).forEach(function (k) { data.append(k, extra[k]); });
    card.classList.add("is-saving");
    fetch(card.dataset.moveUrl, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
    })
      .then(function (r) { return r.text().then(function (text) { return { status: r.status, text: text }; }); })
      .then(function (res) {
        card.classList.remove("is-saving");
        var fragment = parse(res.text);
        if (res.status === 200) {
          var fresh = fragment.querySelector(".deal-card");
          if (fresh) card.replaceWith(fresh);
          replaceHeads(fragment);
          alertBox.innerHTML = "";
          return;
        }
        move.undo();
        var message = fragment.querySelector("[data-board-message]");
        if (message) showMessage(message);
        else showText(res.status === 409 ? board.dataset.staleText : board.dataset.errorText);
        if (res.status === 409) {
          var ids = {};
          ids[move.fromStageId] = true;
          ids[move.stageId] = true;
          fragment.querySelectorAll("[data-column-summary]").forEach(function (h) {
            ids[h.getAttribute("data-column-summary")] = true;
          });
          Object.keys(ids).forEach(refreshColumn);
        }
      })
      .catch(function () {
        card.classList.remove("is-saving");
        move.undo();
        showText(board.dataset.errorText);
      });
  }

  function request(move) {
    if (move.stageKind === "lost" && modalEl) {
      pending = move;
      confirmed = false;
      modalForm.reset();
      window.bootstrap.Modal.getOrCreateInstance(modalEl).show();
      return;
    }
    send(move);
  }

  function initColumn(list) {
    if (!list || list.dataset.sortable || !window.Sortable || board.dataset.canMove !== "1") return;
    list.dataset.sortable = "1";
    window.Sortable.create(list, {
      group: "deals",
      animation: 150,
      draggable: ".deal-card",
      filter: "select, button, input, label",
      preventOnFilter: false,
      delayOnTouchOnly: true,
      delay: 200,
      onEnd: function (evt) {
        if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
        var card = evt.item, from = evt.from, oldIndex = evt.oldIndex;
        request({
          card: card,
          stageId: evt.to.dataset.stageId,
          stageKind: evt.to.dataset.stageKind,
          fromStageId: from.dataset.stageId,
          index: evt.newIndex,
          undo: function () { from.insertBefore(card, from.children[oldIndex] || null); }
        });
      }
    });
  }

  // The forecast category: the form's own POST (the card's token in it), the card replaced
  // by the answer; on a refusal the select goes back and the message says why. A choice made
  // while one is being saved (arrow keys on a closed select) is sent after it, with the
  // fresh card's token.
  function saveForecast(form) {
    var card = form.closest(".deal-card");
    var select = form.elements.forecast_category;
    if (card.classList.contains("is-saving")) return;
    var saved = select.querySelector("option[selected]");
    var previous = saved ? saved.value : "";
    var chosen = select.value;
    if (chosen === previous) return;
    var data = new FormData(form);
    data.set("updated_at", card.dataset.updatedAt);
    card.classList.add("is-saving");
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
    })
      .then(function (r) { return r.text().then(function (text) { return { status: r.status, text: text }; }); })
      .then(function (res) {
        card.classList.remove("is-saving");
        var fragment = parse(res.text);
        var fresh = fragment.querySelector(".deal-card");
        if (res.status === 200 && fresh) {
          var focused = document.activeElement === select;
          var wanted = select.value;
          card.replaceWith(fresh);
          alertBox.innerHTML = "";
          var again = fresh.querySelector(".deal-forecast-form");
          if (!again) return;
          if (focused) again.elements.forecast_category.focus();
          if (wanted !== chosen) {
            again.elements.forecast_category.value = wanted;
            saveForecast(again);
          }
          return;
        }
        select.value = previous;
        var message = fragment.querySelector("[data-board-message]");
        if (message) showMessage(message);
        else showText(res.status === 409 ? board.dataset.staleText : board.dataset.errorText);
        if (res.status === 409) refreshColumn(card.dataset.stageId);
      })
      .catch(function () {
        card.classList.remove("is-saving");
        select.value = previous;
        showText(board.dataset.errorText);
      });
  }

  function onSelectSubmit(event) {
    var forecast = event.target.closest(".deal-forecast-form");
    if (forecast) {
      event.preventDefault();
      saveForecast(forecast);
      return;
    }
    var form = event.target.closest(".deal-move-form");
    if (!form) return;
    event.preventDefault();
    var card = form.closest(".deal-card");
    var stageId = form.elements.stage.value;
    var target = board.querySelector('.deal-column-cards[data-stage-id="' + stageId + '"]');
    if (stageId === card.dataset.stageId || !target) return;
    var from = card.parentNode;
    var oldIndex = Array.prototype.indexOf.call(from.children, card);
    var previous = card.dataset.stageId;
    target.insertBefore(card, target.firstElementChild);
    request({
      card: card,
      stageId: stageId,
      stageKind: target.dataset.stageKind,
      fromStageId: from.dataset.stageId,
      index: 0,
      undo: function () {
        from.insertBefore(card, from.children[oldIndex] || null);
        form.elements.stage.value = previous;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    board = document.querySelector("[data-deal-board]");
    if (!board) return;
    alertBox = document.getElementById("board-alert");
    modalEl = document.getElementById("lost-modal");
    modalForm = document.getElementById("lost-modal-form");
    board.querySelectorAll(".deal-column-cards").forEach(initColumn);
    board.addEventListener("submit", onSelectSubmit);
    // Choosing a category saves it (a select's change comes after the choice is made, with the
    // mouse or with the keyboard once the list closes); the button does the same.
    board.addEventListener("change", function (event) {
      if (event.target.name !== "forecast_category") return;
      var form = event.target.closest(".deal-forecast-form");
      if (form) saveForecast(form);
    });
    if (modalEl) {
      modalForm.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!modalForm.reportValidity() || !pending) return;
        var reason = modalForm.elements.lost_reason.value;
        if (!reason) { modalForm.elements.lost_reason.focus(); return; }
        confirmed = true;
        var move = pending;
        pending = null;
        window.bootstrap.Modal.getOrCreateInstance(modalEl).hide();
        send(move, { lost_reason: reason, lost_note: modalForm.elements.lost_note.value });
      });
      modalEl.addEventListener("hidden.bs.modal", function () {
        if (pending && !confirmed) pending.undo();
        pending = null;
      });
    }
  });
})();
