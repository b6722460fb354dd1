// The segment condition builder: add and remove condition rows without a round trip, offer
// only the operators that suit the chosen field, and the field's values as suggestions. The
// form works without this script too ("Add condition" and the remove buttons post the form).
(function () {
  "use strict";

  function setup(form) {
    var source = document.getElementById("segment-catalogue");
    var catalogue = source ? JSON.parse(source.textContent) : {};
    var rows = form.querySelector("[data-segment-rows]");
    var template = form.querySelector("template[data-segment-template]");
    var next = rows.querySelectorAll("[data-segment-row]").length;

    function changed() {
      form.dispatchEvent(new CustomEvent("segment-rows-changed", { bubbles: true }));
    }

    function fit(row) {
      var field = row.querySelector("[data-segment-field]");
      var op = row.querySelector("[data-segment-op]");
      var value = row.querySelector("[data-segment-value]");
      var to = row.querySelector("[data-segment-to]");
      var list = row.querySelector("[data-segment-choices]");
      var spec = catalogue[field.value];
      var allowed = spec ? spec.ops : null;
      Array.prototype.forEach.call(op.options, function (option) {
        var ok = !allowed || allowed.indexOf(option.value) !== -1;
        option.hidden = !ok;
        option.disabled = !ok;
      });
      if (allowed && allowed.indexOf(op.value) === -1) op.value = allowed[0];
      var empty = op.value === "is_empty" || op.value === "not_empty";
      value.hidden = empty;
      to.hidden = op.value !== "between";
      value.type = spec && (spec.type === "date" || spec.type === "datetime") && op.value !== "within_last_days" && op.value !== "in" ? "date" : "text";
      to.type = value.type;
      list.textContent = "";
      (spec ? spec.choices : []).forEach(function (choice) {
        var option = document.createElement("option");
        option.value = choice[0];
        option.label = choice[1];
        list.appendChild(option);
      });
      if (spec && spec.type === "boolean") {
        ["yes", "no"].forEach(function (word) {
          var option = document.createElement("option");
          option.value = word;
          list.appendChild(option);
        });
      }
    }

    rows.querySelectorAll("[data-segment-row]").forEach(fit);

    form.addEventListener("change", function (event) {
      var row = event.target.closest("[data-segment-row]");
      if (row && (event.target.matches("[data-segment-field]") || event.target.matches("[data-segment-op]"))) fit(row);
    });

    form.addEventListener("click", function (event) {
      var add = event.target.closest("[data-segment-add]");
      var remove = event.target.closest("[data-segment-remove]");
      if (add && template) {
        event.preventDefault();
        var html = template.innerHTML.replace(/__N__/g, String(next));
        next += 1;
        rows.insertAdjacentHTML("beforeend", html);
        var row = rows.lastElementChild;
        fit(row);
        row.querySelector("[data-segment-field]").focus();
        changed();
      } else if (remove) {
        event.preventDefault();
        var current = remove.closest("[data-segment-row]");
        var following = current.nextElementSibling || current.previousElementSibling;
        current.remove();
        var focus = following && following.querySelector("[data-segment-field]");
        (focus || form.querySelector("[data-segment-add]")).focus();
        changed();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-segment-form]").forEach(setup);
  });
})();
