/* Signing modal: the QR countdown «Получить новый QR-код через 09:59», and the ЭЦП panel, where the
 * browser signs (issue #11): NCALayer when window.HomeportalSigners.ncalayer is there and running
 * (static/js/ncalayer.js), else the key file opened in the page
 * (window.HomeportalSigners.keyfile, static/js/signing-keyfile.js). Either way the page fetches
 * what to sign, gets a CMS from the signer and posts only the CMS; the key file and its password
 * are never sent. Loaded by each signing panel; runs once. */
(function () {
  "use strict";
  if (window.__homeportalSigning) return;
  window.__homeportalSigning = true;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // Kazakh «09:58-ден кейін»: the ablative ending follows the last number word read aloud
  // (seconds, or the minutes when the seconds are 00): бір-ден, үш-тен, алты-дан, қырық-тан, он-нан.
  var UNITS = ["ден", "ден", "ден", "тен", "тен", "тен", "дан", "ден", "ден", "дан"];
  var TENS = ["ден", "нан", "дан", "дан", "тан", "ден"];
  function ablative(n) { return "-" + (n % 10 ? UNITS[n % 10] : (n === 0 ? "ден" : TENS[Math.floor(n / 10) % 6])); }
  function tick() {
    var nodes = document.querySelectorAll("[data-expires-ms]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var left = Math.max(0, Math.round((parseInt(el.getAttribute("data-expires-ms"), 10) - Date.now()) / 1000));
      var span = el.querySelector("[data-countdown]");
      if (left > 0 && span) {
        span.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
        var suffix = el.querySelector("[data-countdown-suffix]");
        if (suffix) suffix.textContent = ablative(left % 60 ? left % 60 : Math.floor(left / 60));
      }
      else if (left === 0 && !el.hasAttribute("data-expired")) {
        el.setAttribute("data-expired", "");
        el.textContent = el.getAttribute("data-expired-text");
        var renew = document.querySelector("[data-qr-renew]");
        if (renew) { renew.classList.add("btn-primary"); renew.focus(); }
      }
    }
  }
  setInterval(tick, 1000);

  // --- ЭЦП: the browser signs --------------------------------------------------------------------
  var NCALAYER_PROBE_MS = 1500;

  function signers() { return window.HomeportalSigners || {}; }

  function csrf(panel) {
    var input = panel.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(panel, url, params) {
    var body = new URLSearchParams();
    Object.keys(params || {}).forEach(function (k) { if (params[k] !== null && params[k] !== undefined) body.append(k, params[k]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": csrf(panel), "X-Requested-With": "XMLHttpRequest", "Accept": "application/json"},
    }).then(function (r) {
      return r.json().catch(function () { return {ok: false, code: "network"}; });
    }, function () { return {ok: false, code: "network"}; });
  }

  function clearErrors(panel) {
    var old = panel.querySelectorAll("[data-signing-error]");
    for (var i = 0; i < old.length; i++) old[i].parentNode.removeChild(old[i]);
    var fields = panel.querySelectorAll(".field.has-error");
    for (var j = 0; j < fields.length; j++) fields[j].classList.remove("has-error");
  }

  function showError(panel, field, text) {
    // NCALayer's answers (and the portal's refusal of its signature) belong under its button, not at
    // the key-file form's fields, which may be open beside it («Подписать файлом ключа»)
    var input = field === "ncalayer" ? null : panel.querySelector(field === "password" ? "#id_password" : "#id_key_file");
    var p = document.createElement("p");
    p.className = "field-error";
    p.setAttribute("role", "alert");
    p.setAttribute("data-signing-error", "");
    if (input && !input.closest("[hidden]")) {
      p.id = input.id + "_error";
      input.closest(".field").classList.add("has-error");
      input.closest(".field").appendChild(p);
      input.setAttribute("aria-describedby", p.id);
    } else {
      p.id = "id_signing_error";
      var box = panel.querySelector("[data-ncalayer-box]") || panel;
      box.appendChild(p);
    }
    p.textContent = text;
  }

  function busy(panel, on) {
    var buttons = panel.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = on;
    panel.toggleAttribute("aria-busy", on);
  }

  /* One signing: what to sign from the portal, a CMS from `signer`, the CMS back to the portal. */
  function signWith(panel, signer, extra, field) {
    var msg = JSON.parse(panel.getAttribute("data-messages") || "{}");
    clearErrors(panel);
    busy(panel, true);
    var fail = function (code, message, where) {
      busy(panel, false);
      where = field === "ncalayer" ? field : where || (code === "wrong_password" ? "password" : field);
      showError(panel, where, message || msg[code] || msg.failed);
    };
    var t0 = performance.now(), timings = {};
    return post(panel, panel.getAttribute("data-to-sign-url"), {}).then(function (contract) {
      timings.to_sign_ms = Math.round(performance.now() - t0);
      if (!contract.ok) return fail(contract.code, contract.message, contract.field);
      var opts = {
        dataB64: contract.dataB64, digested: !!contract.digested, attached: !!contract.attached,
        purpose: contract.purpose, bin: contract.bin || "", iin: panel.getAttribute("data-iin") || "",
        locale: panel.getAttribute("data-locale") === "kk" ? "kk" : "ru",
      };
      Object.keys(extra || {}).forEach(function (k) { opts[k] = extra[k]; });
      var t1 = performance.now();
      return signer.signCms(opts).then(function (cms) {
        timings.sign_ms = Math.round(performance.now() - t1);
        t1 = performance.now();
        return post(panel, panel.getAttribute("data-submit-url"), {cms: cms, preparation: contract.preparation});
      }).then(function (answer) {
        timings.submit_ms = Math.round(performance.now() - t1);
        timings.total_ms = Math.round(performance.now() - t0);
        try { sessionStorage.setItem("homeportal-signing-timings", JSON.stringify(timings)); } catch (e) { /* private mode */ }
        if (answer.ok) { window.location.assign(answer.redirect); return; }
        fail(answer.code, answer.message, answer.field);
      }, function (err) {
        var code = (err && err.code) || "failed";
        if (code === "cancelled") code = "ncalayer_cancelled";
        fail(code === "unavailable" ? "ncalayer_unavailable" : code, null);
        // NCALayer went away after the probe (closed, crashed): the key file is the way left
        if (code === "unavailable") showKeyFile(panel);
      });
    });
  }

  function showKeyFile(panel) {
    var form = panel.querySelector("[data-keyfile-form]");
    if (form) form.hidden = false;
  }

  function setupNcalayer(panel, msg) {
    var status = panel.querySelector("[data-ncalayer-status]");
    var box = panel.querySelector("[data-ncalayer-box]");
    var say = function (text) { if (status) { status.hidden = false; status.textContent = text; } };
    var started = Date.now();
    (function wait() {  // ncalayer.js may still be loading after an htmx swap
      var nca = signers().ncalayer;
      if (!nca && panel.hasAttribute("data-ncalayer-js") && Date.now() - started < NCALAYER_PROBE_MS) {
        setTimeout(wait, 50);
        return;
      }
      if (!nca || typeof nca.probe !== "function") { showKeyFile(panel); return; }
      say(msg.ncalayer_probe);
      Promise.resolve().then(function () { return nca.probe(NCALAYER_PROBE_MS); }).then(function (running) {
        if (!running) { say(msg.ncalayer_absent); showKeyFile(panel); return; }
        say(msg.ncalayer_ready);
        if (box) box.hidden = false;
      }, function () { say(msg.ncalayer_absent); showKeyFile(panel); });
    })();
  }

  function initPanel(panel) {
    if (panel.hasAttribute("data-ready")) return;
    panel.setAttribute("data-ready", "");
    var msg = JSON.parse(panel.getAttribute("data-messages") || "{}");
    var form = panel.querySelector("[data-keyfile-form]");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        clearErrors(panel);
        var fileInput = form.querySelector("#id_key_file"), password = form.querySelector("#id_password");
        var file = fileInput && fileInput.files && fileInput.files[0];
        if (!file) { showError(panel, "key_file", msg.choose_file); return; }
        if (!password.value) { showError(panel, "password", msg.password); return; }
        var started = Date.now();
        (function whenLoaded() {  // signing-keyfile.js may still be loading after an htmx swap
          var keyfile = signers().keyfile;
          if (!keyfile && Date.now() - started < 20000) { busy(panel, true); setTimeout(whenLoaded, 50); return; }
          if (!keyfile) { busy(panel, false); showError(panel, "key_file", msg.failed); return; }
          signWith(panel, keyfile, {file: file, password: password.value}, "key_file").then(function () {
            password.value = "";
          });
        })();
      });
    }
    var ncaButton = panel.querySelector("[data-ncalayer-sign]");
    if (ncaButton) {
      ncaButton.addEventListener("click", function () { signWith(panel, signers().ncalayer, {}, "ncalayer"); });
    }
    var useFile = panel.querySelector("[data-use-keyfile]");
    if (useFile) useFile.addEventListener("click", function (e) { e.preventDefault(); showKeyFile(panel); });
    setupNcalayer(panel, msg);
  }

  function initAll(root) {
    var panels = (root || document).querySelectorAll ? (root || document).querySelectorAll("[data-signing-ecp]") : [];
    for (var i = 0; i < panels.length; i++) initPanel(panels[i]);
  }
  window.HomeportalSigning = {init: initAll};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  else initAll(document);
  document.addEventListener("htmx:load", function (e) { initAll(e.target && e.target.parentNode ? e.target.parentNode : document); });
})();
