// The calendar: drag a visit onto another slot to move it. A drop fills the same move form
// the "Move to…" page sends (POST /bookings/<id>/move/) and submits it, so a refused move
// (an overlap) lands on that page with the reason and "Book anyway". Copy puts the feed link
// on the clipboard.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) { return; }
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) { return; }
    input.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  var grid = document.getElementById("calendar");
  var form = document.getElementById("cal-move-form");
  if (!grid || !form || !grid.classList.contains("cal-grid")) { return; }
  var dragged = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  grid.addEventListener("dragstart", function (event) {
    var visit = event.target.closest && event.target.closest(".cal-event");
    if (!visit) { return; }
    dragged = visit;
    visit.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", visit.getAttribute("data-booking"));
  });
  grid.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    grid.querySelectorAll(".is-drop-target").forEach(function (el) { el.classList.remove("is-drop-target"); });
    dragged = null;
  });
  grid.addEventListener("dragover", function (event) {
    var slot = dragged && event.target.closest && event.target.closest(".cal-slot");
    if (!slot) { return; }
    event.preventDefault();
    grid.querySelectorAll(".is-drop-target").forEach(function (el) { el.classList.remove("is-drop-target"); });
    slot.classList.add("is-drop-target");
  });
  grid.addEventListener("drop", function (event) {
    var slot = dragged && event.target.closest && event.target.closest(".cal-slot");
    if (!slot) { return; }
    event.preventDefault();
    var day = slot.closest(".cal-day").getAttribute("data-day");
    // Which quarter of the hour the visit was dropped on.
    var box = slot.getBoundingClientRect();
    var quarter = Math.max(0, Math.min(3, Math.floor((event.clientY - box.top) / (box.height / 4))));
    form.action = dragged.getAttribute("data-move");
    form.elements.date.value = day;
    form.elements.start_time.value = pad(parseInt(slot.getAttribute("data-hour"), 10)) + ":" + pad(quarter * 15);
    form.submit();
  });
})();
