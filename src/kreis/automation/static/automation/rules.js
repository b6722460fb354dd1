// The rule form: show only the fields of the chosen trigger, condition and action kind.
// Without JavaScript every field shows and the form works the same.
(function () {
  function update(select) {
    var scope = select.closest("[data-kind-scope]");
    if (!scope) return;
    var kind = select.value;
    scope.querySelectorAll("[data-kinds]").forEach(function (input) {
      var group = input.closest(".mb-3") || input.parentElement;
      var show = kind !== "" && input.dataset.kinds.split(" ").indexOf(kind) !== -1;
      group.hidden = !show;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-kind-select] select, select[data-kind-select]").forEach(function (select) {
      update(select);
      select.addEventListener("change", function () { update(select); });
    });
  });
})();
