/* «Мои обращения в АО «КЖК»»: tabs without reload, uploads with a progress bar, confirmations.
   Every page works without this file (plain links and form posts). No inline scripts (CSP). */
(function () {
  "use strict";

  function showTab(name) {
    document.querySelectorAll("[data-tab]").forEach(function (tab) {
      var on = tab.getAttribute("data-tab") === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      var panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    try { history.replaceState(null, "", "?tab=" + encodeURIComponent(name)); } catch (e) { /* ignore */ }
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[data-tab]");
    if (tab) { event.preventDefault(); showTab(tab.getAttribute("data-tab")); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (!form.classList.contains("upload-form") || !window.XMLHttpRequest || !window.FormData) return;
    event.preventDefault();
    upload(form);
  });

  function slotError(section, text) {
    var p = section.querySelector(".field-error.js-error");
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error js-error";
      p.setAttribute("role", "alert");
      section.insertBefore(p, section.querySelector(".upload-form"));
    }
    p.textContent = text;
  }

  function upload(form) {
    var section = form.closest(".doc-slot");
    var input = form.querySelector("input[type=file]");
    var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    if (!input.files || !input.files.length) { slotError(section, form.getAttribute("data-msg-choose")); return; }
    if (max && input.files[0].size > max) { slotError(section, form.getAttribute("data-msg-too-large")); return; }
    var bar = form.querySelector(".progress");
    var fill = bar ? bar.querySelector("span") : null;
    var button = form.querySelector("button[type=submit]");
    if (bar) bar.hidden = false;
    if (button) button.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable || !fill) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      fill.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", String(pct));
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        var holder = document.createElement("div");
        holder.innerHTML = xhr.responseText;
        var fresh = holder.firstElementChild;
        section.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      } else {
        if (button) button.disabled = false;
        if (bar) bar.hidden = true;
        slotError(section, form.getAttribute("data-msg-failed"));
      }
    });
    xhr.addEventListener("error", function () {
      if (button) button.disabled = false;
      if (bar) bar.hidden = true;
      slotError(section, form.getAttribute("data-msg-failed"));
    });
    xhr.send(new FormData(form));
  }
})();
