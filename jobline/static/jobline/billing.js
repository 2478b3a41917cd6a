// The schedule editor: each row shows the inputs its choices need — the % for a percent, the
// amount for a fixed sum, the stage or the date for those triggers. Without JavaScript every
// input shows and the service ignores the ones that do not apply.
(function () {
  "use strict";
  var table = document.querySelector(".schedule-edit");
  if (!table) { return; }
  function show(row, suffix, visible) {
    var input = row.querySelector("[name$='-" + suffix + "']");
    if (input) { input.hidden = !visible; }
  }
  function update(row) {
    var kind = row.querySelector("[name$='-amount_kind']");
    var trigger = row.querySelector("[name$='-trigger']");
    if (kind && kind.tagName === "SELECT") {
      show(row, "percent", kind.value === "percent");
      show(row, "amount", kind.value === "fixed");
    }
    if (trigger && trigger.tagName === "SELECT") {
      show(row, "trigger_stage", trigger.value === "stage");
      show(row, "trigger_on", trigger.value === "date");
    }
  }
  function updateAll() { table.querySelectorAll("tr.schedule-row").forEach(update); }
  table.addEventListener("change", function (event) {
    var row = event.target.closest("tr.schedule-row");
    if (row) { update(row); }
  });
  // Rows added by "Add an instalment" arrive without a change event.
  new MutationObserver(updateAll).observe(table.querySelector("tbody"), { childList: true });
  updateAll();
})();
