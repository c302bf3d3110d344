/* Resumable uploads (tus 1.0.0, static/vendor/tus-js-client) for every document form that has
   data-tus="<creation URL>": each chosen file goes up in chunks with pause / resume / cancel,
   percent, speed and time left. A dropped connection is retried; after a page reload the same file
   chosen again continues from the offset the server has (tus-js-client keeps the upload URL in
   localStorage under the file's fingerprint). Without JavaScript, or without tus support, the
   form posts as before. Strings come from the form's data-tus-* attributes (ru/kk). */
(function () {
  "use strict";
  if (!window.tus || !window.tus.isSupported) return;

  function text(form, key, values) {
    var s = form.getAttribute("data-tus-" + key) || "";
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  }

  function megabytes(form, bytes) {
    return text(form, "mb", { n: (bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0) });
  }

  function duration(form, seconds) {
    if (!isFinite(seconds)) return "…";
    if (seconds < 60) return text(form, "seconds", { n: Math.max(1, Math.round(seconds)) });
    return text(form, "minutes", { n: Math.round(seconds / 60) });
  }

  function button(label, action) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "btn btn-outline btn-sm"; b.textContent = label;
    b.setAttribute("data-tus-action", action);
    return b;
  }

  // Re-read the page and put the fresh document section in place (its file list now has the file).
  function refresh(section) {
    if (!section || !section.id) { window.location.reload(); return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
        if (!fresh) { window.location.reload(); return; }
        section.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      });
  }

  function start(form, file, list, onDone) {
    var row = document.createElement("li");
    row.className = "tus-upload";
    row.setAttribute("data-tus-file", file.name);
    var name = document.createElement("span"); name.className = "tus-name"; name.textContent = file.name;
    var bar = document.createElement("div"); bar.className = "progress"; bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0"); bar.setAttribute("aria-valuemax", "100"); bar.setAttribute("aria-valuenow", "0");
    bar.setAttribute("aria-label", file.name);
    var fill = document.createElement("span"); bar.appendChild(fill);
    var status = document.createElement("span"); status.className = "tus-status muted"; status.setAttribute("aria-live", "polite");
    var pause = button(text(form, "pause"), "pause"), cancel = button(text(form, "cancel"), "cancel");
    var controls = document.createElement("span"); controls.className = "tus-controls";
    controls.appendChild(pause); controls.appendChild(cancel);
    row.appendChild(name); row.appendChild(bar); row.appendChild(status); row.appendChild(controls);
    list.appendChild(row);

    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var samples = [], paused = false, resumedFrom = 0;
    var upload = new window.tus.Upload(file, {
      endpoint: form.getAttribute("data-tus"),
      chunkSize: parseInt(form.getAttribute("data-tus-chunk") || "33554432", 10),
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      metadata: { filename: file.name, filetype: file.type || "" },
      headers: token ? { "X-CSRFToken": token.value } : {},
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) {
        var now = Date.now(), pct = total ? Math.floor((100 * sent) / total) : 0;
        if (resumedFrom === -1 && sent > 0) resumedFrom = Math.max(1, pct);  // the offset the server had
        samples.push([now, sent]);
        while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
        var speed = samples.length > 1 ? (sent - samples[0][1]) / Math.max(0.001, (now - samples[0][0]) / 1000) : 0;
        fill.style.width = pct + "%";
        bar.setAttribute("aria-valuenow", String(pct));
        row.setAttribute("data-tus-percent", String(pct));
        var line = text(form, "progress", { percent: pct + " %", done: megabytes(form, sent), total: megabytes(form, total),
          speed: megabytes(form, speed), left: duration(form, speed > 0 ? (total - sent) / speed : Infinity) });
        if (resumedFrom > 0) line = text(form, "resumed", { percent: resumedFrom + " %" }) + " " + line;
        status.textContent = line;
      },
      onShouldRetry: function (err, attempt, options) {
        var code = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (code >= 400 && code < 500 && code !== 409 && code !== 423) return false;
        status.textContent = text(form, "retrying");
        return true;
      },
      onError: function (err) {
        var response = err.originalResponse, body = response ? response.getBody() : "";
        row.classList.add("has-error");
        status.className = "tus-status field-error"; status.setAttribute("role", "alert");
        status.textContent = file.name + ": " + (body && body.length < 400 ? body : text(form, "failed"));
        controls.remove();
        onDone(false);
      },
      onSuccess: function () { row.setAttribute("data-tus-done", "1"); onDone(true); },
    });

    pause.addEventListener("click", function () {
      if (!paused) { upload.abort(); paused = true; pause.textContent = text(form, "resume"); status.textContent = text(form, "paused"); }
      else { paused = false; pause.textContent = text(form, "pause"); samples = []; upload.start(); }
    });
    cancel.addEventListener("click", function () {
      upload.abort(true).then(function () { row.remove(); onDone(null); });  // DELETE: the server drops the bytes
    });

    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        resumedFrom = -1;  // known at the first progress report, after the HEAD request
      }
      upload.start();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.getAttribute || !form.getAttribute("data-tus")) return;
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || !input.files.length) return;
    // Capture phase: the resumable path replaces the form's plain (multipart) upload.
    event.preventDefault();
    event.stopImmediatePropagation();
    var section = form.closest("[id]");
    var list = form.querySelector(".tus-uploads");
    if (!list) { list = document.createElement("ul"); list.className = "tus-uploads"; form.appendChild(list); }
    var files = Array.prototype.slice.call(input.files), pending = files.length, ok = 0;
    // The form's own announced limit (appeals: data-max-bytes, applications: data-max-mb), else the slot's.
    var max = parseInt(form.getAttribute("data-max-bytes") || "0", 10) ||
      parseInt(form.getAttribute("data-max-mb") || "0", 10) * 1048576 || parseInt(form.getAttribute("data-tus-max") || "0", 10);
    files.forEach(function (file) {
      if (max && file.size > max) {
        var li = document.createElement("li"); li.className = "field-error"; li.setAttribute("role", "alert");
        li.textContent = file.name + ": " + (form.getAttribute("data-msg-too-large") || form.getAttribute("data-too-large") || text(form, "too-large")); list.appendChild(li);
        pending -= 1;
        return;
      }
      start(form, file, list, function (success) {
        pending -= 1;
        if (success) ok += 1;
        if (pending === 0 && ok) refresh(section);
      });
    });
    input.value = "";
    input.dispatchEvent(new Event("change", { bubbles: true }));  // the picker shows «Файл не выбран»
  }, true);
})();
