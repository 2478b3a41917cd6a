// Jobline's own small behaviours. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";
  // Controls that only matter without JavaScript (a "Move" button beside a select that
  // submits itself) hide once this script runs.
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit")) {
      event.target.form.requestSubmit();
    }
  });

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

  // Colours chosen by the business (stage chips, column tops) arrive as data attributes:
  // the CSP forbids inline style attributes, but setting styles from our script is fine.
  function paint(root) {
    root.querySelectorAll("[data-bg]").forEach(function (el) {
      el.style.backgroundColor = el.getAttribute("data-bg");
      el.style.borderColor = el.getAttribute("data-bg");
      el.style.color = el.getAttribute("data-fg") || "";
    });
    root.querySelectorAll("[data-top-colour]").forEach(function (el) {
      el.style.borderTopColor = el.getAttribute("data-top-colour");
    });
  }

  // Stage-form fields shown only when another field has a given value.
  function applyConditions(root) {
    root.querySelectorAll("[data-condition-field]").forEach(function (wrapper) {
      var form = wrapper.closest("form");
      var source = form && form.querySelector('[name="' + wrapper.getAttribute("data-condition-field") + '"]');
      if (!source) { return; }
      var value = source.type === "checkbox" ? (source.checked ? "true" : "false") : source.value;
      wrapper.hidden = value !== wrapper.getAttribute("data-condition-value");
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form) { return; }
    applyConditions(form);
    // The composer's button says who will read the message.
    if (form.hasAttribute("data-composer") && event.target.name === "visibility") {
      var send = form.querySelector(".composer-send");
      send.textContent = send.getAttribute("data-label-" + event.target.value);
      form.classList.toggle("is-reply", event.target.value === "customer");
    }
  });

  // Uploads through htmx show their progress; a refused upload's page (400) is shown too.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.target.querySelector && event.target.querySelector(".upload-progress");
    if (!bar || !event.detail.lengthComputable) { return; }
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    bar.textContent = bar.value + "%";
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target.id === "main") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Files dropped anywhere on a page with a [data-file-drop] form go into that form.
  var dropForm = document.querySelector("form[data-file-drop]");
  if (dropForm) {
    var depth = 0;
    var hasFiles = function (event) {
      return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1;
    };
    document.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) { return; }
      depth += 1;
      document.body.classList.add("is-dragging-files");
    });
    document.addEventListener("dragleave", function (event) {
      if (!hasFiles(event)) { return; }
      depth = Math.max(0, depth - 1);
      if (depth === 0) { document.body.classList.remove("is-dragging-files"); }
    });
    document.addEventListener("dragover", function (event) {
      if (hasFiles(event)) { event.preventDefault(); }
    });
    document.addEventListener("drop", function (event) {
      if (!hasFiles(event)) { return; }
      event.preventDefault();
      depth = 0;
      document.body.classList.remove("is-dragging-files");
      var form = document.querySelector("form[data-file-drop]");
      var input = form.querySelector("input[type=file]");
      input.files = event.dataTransfer.files;
      form.requestSubmit();
    });
  }

  // Photos open full size in a lightbox; without JavaScript the link opens the image.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-lightbox]");
    var box = document.getElementById("lightbox");
    if (!link || !box || typeof box.showModal !== "function") { return; }
    event.preventDefault();
    box.querySelector("img").src = link.getAttribute("href");
    box.querySelector("img").alt = link.getAttribute("data-caption");
    box.querySelector(".lightbox-caption").textContent = link.getAttribute("data-caption");
    box.showModal();
  });

  // A stage strip wider than a phone scrolls; it opens at the current stage, not the first.
  function showCurrentStep(root) {
    root.querySelectorAll(".stepper").forEach(function (strip) {
      var current = strip.querySelector("[aria-current=step]");
      if (!current || strip.scrollWidth <= strip.clientWidth) { return; }
      // The strip is position: relative, so offsetLeft is from its own left edge.
      strip.scrollLeft = Math.max(0, current.offsetLeft - (strip.clientWidth - current.offsetWidth) / 2);
    });
  }

  function enhance(root) {
    fadeToasts(root);
    paint(root);
    applyConditions(root);
    showCurrentStep(root);
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  window.addEventListener("resize", function () { showCurrentStep(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enhance(event.target.parentNode || event.target); });
})();
