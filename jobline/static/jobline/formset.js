// Forms with rows (a quote's lines, a job's payment schedule): a button
// <button data-add-row="PREFIX"> copies the formset's empty row from <template id="PREFIX-template">
// (its __prefix__ becomes the next index) into <tbody id="PREFIX-rows"> and counts it in the
// management form (id_PREFIX-TOTAL_FORMS). Without JavaScript the form has blank rows to fill.
(function () {
  "use strict";
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var prefix = button.getAttribute("data-add-row");
    var template = document.getElementById(prefix + "-template");
    var body = document.getElementById(prefix + "-rows");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    if (!template || !body || !total) { return; }
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
      var first = row.querySelector("input:not([type=hidden]), select");
      if (first) { first.focus(); }
    });
  });
})();
