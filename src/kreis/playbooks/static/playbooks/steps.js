// The step editor: the offer's fields (number of products, months looked back, send by e-mail)
// show only when the step's kind is "Personalised offer". Without JavaScript every field shows;
// the server ignores the numbers for the other kinds and refuses the e-mail box with a message
// beside it, so a box hidden here is also cleared here (its error could not be seen).
(function () {
  function update(form) {
    var select = form.querySelector("select[data-step-action]");
    if (!select) return;
    var offer = select.value === "offer";
    form.querySelectorAll("[data-offer-only]").forEach(function (group) {
      group.hidden = !offer;
      if (!offer) {
        group.querySelectorAll("input[type=checkbox]").forEach(function (box) {
          box.checked = false;
        });
      }
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
