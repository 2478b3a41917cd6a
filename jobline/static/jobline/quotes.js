// The quote form: "Add a line" copies the formset's empty row (its __prefix__ becomes the
// next index) and counts it in the management form. Without JavaScript the form has blank
// rows to fill instead.
(function () {
  "use strict";
  var button = document.querySelector("[data-add-line]");
  var template = document.getElementById("quote-line-template");
  var body = document.querySelector("#quote-lines tbody");
  var total = document.getElementById("id_line-TOTAL_FORMS");
  if (!button || !template || !body || !total) { return; }
  button.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelectorAll("[name], [id], [for]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace("__prefix__", String(index))); }
      });
    });
    body.appendChild(row);
    total.value = String(index + 1);
    var first = row.querySelector("input");
    if (first) { first.focus(); }
  });
})();
