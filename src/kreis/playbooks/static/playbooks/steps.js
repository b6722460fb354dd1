// The step editor: the offer's fields (number of products, months looked back) show only when
// the step's kind is "Personalised offer". Without JavaScript every field shows; the server
// ignores the offer fields for the other kinds either way.
(function () {
  function update(form) {
    var select = form.querySelector("select[data-step-action]");
    if (!select) return;
    var offer = select.value === "offer";
    form.querySelectorAll("[data-offer-only]").forEach(function (group) {
      group.hidden = !offer;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-step-form]").forEach(function (form) {
      update(form);
      form.addEventListener("change", function (event) {
        if (event.target.matches("select[data-step-action]")) update(form);
      });
    });
  });
})();
