/* Signing modal: the QR countdown «Получить новый QR-код через 09:59». Loaded by each signing panel; runs once. */
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
})();
