// Transactions: the line formset (add lines, product fills price, live totals, keys) and the
// list's "choose all" box. No inline scripts: the Content-Security-Policy forbids them.
(function () {
  "use strict";

  function german() { return document.documentElement.lang === "de"; }

  function parse(value) {
    var text = (value || "").trim();
    if (german()) text = text.replace(/\./g, "").replace(",", ".");
    else text = text.replace(/,/g, "");
    var number = parseFloat(text);
    return isNaN(number) ? null : number;
  }

  function show(number) {
    // Shown like the field expects it: German decimal comma, English dot.
    var text = String(number);
    return german() ? text.replace(".", ",") : text;
  }

  function money(amount, form) {
    var currency = (form.querySelector("[name=currency]") || {}).value || "EUR";
    try {
      return new Intl.NumberFormat(german() ? "de-DE" : "en-IE", { style: "currency", currency: currency.toUpperCase() }).format(amount);
    } catch (error) {
      return amount.toFixed(2);
    }
  }

  function field(line, name) { return line.querySelector("[data-line-" + name + "]"); }

  function recalc(form) {
    var total = 0;
    form.querySelectorAll("[data-line]").forEach(function (line) {
      var output = line.querySelector("[data-line-total]");
      var remove = line.querySelector("input[name$='-DELETE']");
      var quantity = parse(field(line, "quantity").value);
      var select = field(line, "product");
      var price = parse(field(line, "unit_price").value);
      if (price === null && select.selectedOptions[0] && select.selectedOptions[0].dataset.price) {
        price = parseFloat(select.selectedOptions[0].dataset.price);
      }
      var discount = parse(field(line, "discount").value) || 0;
      if (quantity === null || price === null || (remove && remove.checked)) {
        output.textContent = "";
        return;
      }
      var net = Math.round((quantity * price - discount) * 100) / 100;
      output.textContent = money(net, form);
      total += net;
    });
    form.querySelector("[data-total]").textContent = money(total, form);
  }

  function fill(select) {
    var option = select.selectedOptions[0];
    var line = select.closest("[data-line]");
    if (!option || !option.dataset.price) return;
    var price = field(line, "unit_price");
    var description = field(line, "description");
    var quantity = field(line, "quantity");
    // Replace what the previous product filled in, never what the user typed.
    if (!price.value || price.dataset.filled === price.value) {
      price.value = show(option.dataset.price);
      price.dataset.filled = price.value;
    }
    if (!description.value || description.dataset.filled === description.value) {
      description.value = option.dataset.name;
      description.dataset.filled = description.value;
    }
    if (!quantity.value) quantity.value = "1";
  }

  function addLine(form) {
    var template = document.getElementById("line-template");
    var count = form.querySelector("[name=lines-TOTAL_FORMS]");
    var index = parseInt(count.value, 10);
    form.querySelector("[data-lines]").insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, index));
    count.value = index + 1;
    var lines = form.querySelectorAll("[data-line]");
    field(lines[lines.length - 1], "product").focus();
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-transaction-form]");
    if (!form) return;
    if (event.target.matches("[data-line-product]")) fill(event.target);
    recalc(form);
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest("[data-transaction-form]");
    if (form) recalc(form);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-line]");
    if (button) addLine(button.closest("[data-transaction-form]"));
    var all = event.target.closest("[data-select-all]");
    if (all) {
      document.querySelectorAll("input[name=ids][form=bulk-form]").forEach(function (box) { box.checked = all.checked; });
    }
  });

  // Enter in a line's number or text field adds a line (on the last line) or moves to the next
  // one, instead of submitting half a transaction; Ctrl+Enter (Cmd+Enter) saves.
  document.addEventListener("keydown", function (event) {
    var form = event.target.closest("[data-transaction-form]");
    if (!form || event.key !== "Enter") return;
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    var line = event.target.closest("[data-line]");
    if (!line || event.target.tagName !== "INPUT" || event.target.type === "checkbox") return;
    event.preventDefault();
    var lines = Array.prototype.slice.call(form.querySelectorAll("[data-line]"));
    var next = lines[lines.indexOf(line) + 1];
    if (next) field(next, "product").focus();
    else addLine(form);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-transaction-form]");
    if (form) recalc(form);
  });
})();
