// Jobline's own small behaviours. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  // Ask before destructive actions: <form data-confirm="Remove Sam?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Toasts fade after a few seconds; errors stay until the page changes.
  function fadeToasts(root) {
    root.querySelectorAll(".toast:not(.toast-error)").forEach(function (toast) {
      window.setTimeout(function () { toast.classList.add("toast-gone"); }, 5000);
    });
  }

  // Close the workspace switcher when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.switcher[open]").forEach(function (details) {
      if (!details.contains(event.target)) { details.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.switcher[open]").forEach(function (details) {
        details.removeAttribute("open");
        details.querySelector("summary").focus();
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () { fadeToasts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { fadeToasts(event.target); });
})();
