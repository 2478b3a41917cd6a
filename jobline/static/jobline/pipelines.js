// Jobs → Pipelines: stage colours, drag-and-drop reordering of stages, and the field form's
// show/hide rules. No inline scripts or styles (strict CSP): colours arrive as data
// attributes and are set here through the CSSOM, which the CSP allows.
(function () {
  "use strict";

  // Stage chips: the business's colour behind, black or white text (chosen on the server).
  function paint(root) {
    root.querySelectorAll("[data-colour]").forEach(function (el) {
      el.style.backgroundColor = el.getAttribute("data-colour");
      el.style.borderColor = el.getAttribute("data-colour");
      el.style.color = el.getAttribute("data-text-colour") || "";
    });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function say(text, kind) {
    var region = document.getElementById("stage-status");
    if (!region) { return; }
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (kind || "success");
    toast.textContent = text;
    region.replaceChildren(toast);
    if (kind !== "error") {
      window.setTimeout(function () { toast.classList.add("toast-gone"); }, 4000);
    }
  }

  // ---- Drag and drop of stage rows (the Move up / Move down buttons are the alternative).
  var dragged = null;

  function elementOf(target) {
    return target && target.nodeType === 1 ? target : target && target.parentElement;
  }

  function clearMarks() {
    document.querySelectorAll(".pl-stage-row.pl-drop-before, .pl-stage-row.pl-drop-after").forEach(function (row) {
      row.classList.remove("pl-drop-before", "pl-drop-after");
    });
  }

  function nextRow(row) {
    var next = row.nextElementSibling;
    while (next && !next.classList.contains("pl-stage-row")) { next = next.nextElementSibling; }
    return next;
  }

  // Where a drop at this pointer position would put the dragged row: before `row`, or
  // (null) at the end of the list.
  function dropTarget(event) {
    var el = elementOf(event.target);
    var list = el && el.closest("#stage-list");
    if (!list || !dragged || !list.contains(dragged)) { return undefined; }
    var row = el.closest(".pl-stage-row");
    if (!row) {
      return { before: null, mark: null };
    }
    var box = row.getBoundingClientRect();
    if (event.clientY < box.top + box.height / 2) {
      return { before: row, mark: [row, "pl-drop-before"] };
    }
    return { before: nextRow(row), mark: [row, "pl-drop-after"] };
  }

  document.addEventListener("dragstart", function (event) {
    var el = elementOf(event.target);
    var handle = el && el.closest(".pl-drag-handle");
    if (!handle) { return; }
    dragged = handle.closest(".pl-stage-row");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-stage-id"));
    if (event.dataTransfer.setDragImage) { event.dataTransfer.setDragImage(dragged, 16, 16); }
    dragged.classList.add("is-dragging");
  });

  document.addEventListener("dragover", function (event) {
    var target = dropTarget(event);
    if (target === undefined) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    clearMarks();
    if (target.mark) { target.mark[0].classList.add(target.mark[1]); }
  });

  document.addEventListener("dragend", function () {
    clearMarks();
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
  });

  document.addEventListener("drop", function (event) {
    var target = dropTarget(event);
    if (target === undefined) { return; }
    event.preventDefault();
    var moved = dragged;
    clearMarks();
    moved.classList.remove("is-dragging");
    dragged = null;
    // Dropped where it already is: nothing to do.
    if (target.before === moved || target.before === nextRow(moved)) { return; }
    reorder(moved, target.before);
  });

  function reorder(row, beforeRow) {
    var body = new URLSearchParams();
    body.set("before", beforeRow ? beforeRow.getAttribute("data-stage-id") : "");
    var name = row.getAttribute("data-stage-name");
    var id = row.getAttribute("data-stage-id");
    // Show the new order at once; the server's answer replaces it.
    row.parentNode.insertBefore(row, beforeRow);
    fetch(row.getAttribute("data-reorder-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" },
    })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var wrap = document.getElementById("stages");
        wrap.outerHTML = html;
        var fresh = document.getElementById("stages");
        paint(fresh);
        var link = fresh.querySelector("#stage-" + id + " .pl-stage-name");
        if (link) { link.focus({ preventScroll: true }); }
        say("Moved " + name + ".");
      })
      .catch(function () {
        say("Could not move " + name + ". Reload the page and try again.", "error");
      });
  }

  // ---- The field form: choices only for dropdowns, the value only with a condition.
  function toggleFieldInputs(root) {
    root.querySelectorAll("[data-show-for-types]").forEach(function (box) {
      var select = document.getElementById(box.getAttribute("data-type-select"));
      if (!select) { return; }
      var types = box.getAttribute("data-show-for-types").split(" ");
      var invalid = box.querySelector(".field-invalid");
      box.hidden = types.indexOf(select.value) === -1 && !invalid;
    });
    root.querySelectorAll("[data-show-when-chosen]").forEach(function (box) {
      var select = document.getElementById(box.getAttribute("data-show-when-chosen"));
      if (!select) { return; }
      box.hidden = !select.value && !box.querySelector(".field-invalid");
    });
  }

  // ---- New pipeline from a template: the name field suggests the template's name.
  function suggestName(radio) {
    var form = radio.form;
    var name = form && form.querySelector('input[name$="name"]');
    if (name) { name.placeholder = radio.getAttribute("data-template-name"); }
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select")) { toggleFieldInputs(el.form || document); }
    if (el.matches && el.matches("input[data-template-name]")) { suggestName(el); }
  });

  function init() {
    paint(document);
    toggleFieldInputs(document);
    var chosen = document.querySelector("input[data-template-name]:checked");
    if (chosen) { suggestName(chosen); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
