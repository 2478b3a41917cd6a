// The board: drag a card to another column to move it. Every card also has a "Move to…"
// form, which is what a drop submits, so mouse, keyboard and touch share one path (htmx).
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) { return; }
  var dialog = document.getElementById("move-dialog");
  var dragged = null;

  function column(stageId) {
    return board.querySelector('.board-column[data-stage="' + stageId + '"]');
  }

  function adjustCount(col, delta) {
    if (!col) { return; }
    var counter = col.querySelector("[data-count]");
    counter.textContent = String(Math.max(0, parseInt(counter.textContent, 10) + delta));
  }

  // Put a (re-rendered) card into the column of the stage it now says it is in.
  function placeCard(card) {
    var target = column(card.getAttribute("data-stage"));
    var current = card.closest(".board-column");
    if (!target || target === current) { return; }
    adjustCount(current, -1);
    adjustCount(target, 1);
    var list = target.querySelector("[data-dropzone]");
    var empty = list.querySelector(".board-empty");
    if (empty) { empty.remove(); }
    list.insertBefore(card, list.firstChild);
    // The column it left says so when nothing is left in it (as the page draws it).
    var left = current && current.querySelector("[data-dropzone]");
    if (left && !left.querySelector(".board-card, .board-more, .board-empty")) {
      var none = document.createElement("li");
      none.className = "board-empty muted small";
      none.textContent = "No jobs";
      left.appendChild(none);
    }
  }

  function toast(text, kind) {
    var holder = document.getElementById("toasts");
    if (!holder) { return; }
    var item = document.createElement("div");
    item.className = "toast toast-" + (kind || "info");
    item.textContent = text;
    holder.appendChild(item);
    if (kind !== "error") {
      window.setTimeout(function () { item.classList.add("toast-gone"); }, 5000);
    }
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card) { return; }
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-number"));
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    board.querySelectorAll(".is-drop-target").forEach(function (el) {
      el.classList.remove("is-drop-target");
    });
    dragged = null;
  });
  board.addEventListener("dragover", function (event) {
    var col = event.target.closest && event.target.closest(".board-column");
    if (!col || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".is-drop-target").forEach(function (el) {
      if (el !== col) { el.classList.remove("is-drop-target"); }
    });
    col.classList.add("is-drop-target");
  });
  board.addEventListener("drop", function (event) {
    var col = event.target.closest && event.target.closest(".board-column");
    if (!col || !dragged) { return; }
    event.preventDefault();
    var stageId = col.getAttribute("data-stage");
    if (stageId === dragged.getAttribute("data-stage")) { return; }
    var form = dragged.querySelector(".move-form");
    form.querySelector("select[name=stage]").value = stageId;
    form.requestSubmit();
  });

  // After htmx swapped a card in (a move, or a refusal showing the fresh state).
  document.body.addEventListener("htmx:afterSwap", function () {
    board.querySelectorAll(".board-card").forEach(function (each) {
      if (each.closest(".board-column").getAttribute("data-stage") !== each.getAttribute("data-stage")) {
        placeCard(each);
      }
    });
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422) {
      // The required-fields dialog: show it instead of swapping the card.
      event.detail.shouldSwap = false;
      dialog.innerHTML = event.detail.xhr.responseText;
      window.htmx.process(dialog);
      if (!dialog.open) { dialog.showModal(); }
      var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    } else if (status === 409 || status === 400) {
      // Refused: swap in the card's real state so the board tells the truth.
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.body.addEventListener("jobMoved", function () {
    if (dialog.open) { dialog.close(); }
    toast("Moved.", "success");
  });
  document.body.addEventListener("jobMoveRefused", function (event) {
    if (dialog.open) { dialog.close(); }
    toast(event.detail.value || "The move was refused.", "error");
  });

  // A cancelled dialog leaves every card's "Move to…" showing where the card really is.
  dialog.addEventListener("close", function () {
    board.querySelectorAll(".board-card").forEach(function (card) {
      var select = card.querySelector("select[name=stage]");
      if (select) { select.value = card.getAttribute("data-stage"); }
    });
  });

  dialog.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-dialog]")) { dialog.close(); }
  });

  // Phones: one column at a time, chosen from the stage switcher.
  var switcher = document.querySelector("[data-stage-switcher]");
  if (switcher) {
    switcher.addEventListener("change", function () {
      board.querySelectorAll(".board-column").forEach(function (col) {
        col.classList.toggle("is-shown", col.id === switcher.value);
      });
    });
  }

  var pipelineSwitch = document.querySelector("[data-pipeline-switcher] select");
  if (pipelineSwitch) {
    pipelineSwitch.addEventListener("change", function () {
      window.location.href = pipelineSwitch.getAttribute("data-board-url").replace("/0/", "/" + pipelineSwitch.value + "/");
    });
  }
})();
