/* Guarantee applications: show/hide dependent fields, upload progress. Every page works without it. */
(function () {
  "use strict";

  function radioValue(root, name) {
    var checked = root.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : "";
  }

  // <div data-show-when="name=value">: shown only when that radio is chosen; "name=*": any choice;
  // "a=1&b=2": all of them; "a=1|b=2": any of the alternatives (the server renders the same rule).
  function conditionHolds(form, condition) {
    return condition.split("|").some(function (alternative) {
      return alternative.split("&").every(function (term) {
        var parts = term.split("="), value = radioValue(form, parts[0]);
        return parts[1] === "*" ? value !== "" : value === parts[1];
      });
    });
  }

  // <div data-hide-when="name">: hidden while that checkbox is ticked.
  function applyConditions(root) {
    root.querySelectorAll("[data-show-when]").forEach(function (el) {
      var form = el.closest("form") || document;
      el.hidden = !conditionHolds(form, el.getAttribute("data-show-when"));
    });
    root.querySelectorAll("[data-hide-when]").forEach(function (el) {
      var form = el.closest("form") || document;
      var box = form.querySelector('input[name="' + el.getAttribute("data-hide-when") + '"]');
      el.hidden = !!(box && box.checked);
    });
  }

  document.addEventListener("change", function () { applyConditions(document); });
  document.addEventListener("htmx:afterSwap", function () { applyConditions(document); });
  document.addEventListener("DOMContentLoaded", function () { applyConditions(document); });

  // Uploads: XMLHttpRequest with a progress bar; the server answers the document field's HTML.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-upload]") || !window.FormData) return;
    var input = form.querySelector("[data-upload-input]");
    if (!input || !input.files.length) return;
    event.preventDefault();
    var section = form.closest("[data-document]");
    var errorBox = section ? section.querySelector("[data-upload-errors]") : null;
    function showError(text) {
      if (!errorBox) { window.alert(text); return; }
      errorBox.innerHTML = "";
      var p = document.createElement("p");
      p.className = "field-error"; p.setAttribute("role", "alert"); p.textContent = text;
      errorBox.appendChild(p);
    }
    var maxBytes = parseInt(form.getAttribute("data-max-mb") || "600", 10) * 1024 * 1024;
    var total = 0;
    for (var i = 0; i < input.files.length; i++) {
      if (input.files[i].size > maxBytes) { showError(input.files[i].name + ": " + form.getAttribute("data-too-large")); input.value = ""; input.dispatchEvent(new Event("change", { bubbles: true })); return; }
      total += input.files[i].size;
    }
    // One POST carries them all and the limit holds for the request (the server says the same).
    if (total > maxBytes) { showError(form.getAttribute("data-total-too-large")); input.value = ""; input.dispatchEvent(new Event("change", { bubbles: true })); return; }
    var bar = form.querySelector("[data-progress]");
    var fill = bar ? bar.querySelector("span") : null;
    if (bar) bar.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable && fill) fill.style.width = Math.round(100 * e.loaded / e.total) + "%";
    });
    xhr.addEventListener("load", function () {
      if (section && xhr.responseText && xhr.responseText.indexOf("data-document") !== -1) {
        var wrap = document.createElement("div");
        wrap.innerHTML = xhr.responseText;
        section.replaceWith(wrap.querySelector("[data-document]") || wrap);
      } else { window.location.reload(); }
    });
    xhr.addEventListener("error", function () { if (bar) bar.hidden = true; showError(form.getAttribute("data-failed")); });
    xhr.send(new FormData(form));
  });

  // Auto-submit the upload form when files are chosen (the OK button stays for no-JS use).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-upload-input]") && input.files.length) {
      var form = input.closest("form");
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }
  });

  // Confirm before deleting an application.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
