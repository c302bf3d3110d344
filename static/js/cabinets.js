/* cabinets: the live password checklist and the captcha refresh. The server checks again. */
(function () {
  "use strict";
  var SPECIAL = '!"@%&?*[]_+-';
  var RULES = {
    length: function (p) { return p.length >= 8; },
    digit: function (p) { return /\d/.test(p); },
    special: function (p) { for (var i = 0; i < p.length; i++) { if (SPECIAL.indexOf(p[i]) >= 0) return true; } return false; },
    lower: function (p) { return p !== p.toUpperCase(); },
    upper: function (p) { return p !== p.toLowerCase(); }
  };
  function hasLower(p) { for (var i = 0; i < p.length; i++) { var c = p[i]; if (c !== c.toUpperCase() && c === c.toLowerCase()) return true; } return false; }
  function hasUpper(p) { for (var i = 0; i < p.length; i++) { var c = p[i]; if (c !== c.toLowerCase() && c === c.toUpperCase()) return true; } return false; }
  RULES.lower = hasLower; RULES.upper = hasUpper;

  function update(root) {
    var list = root.querySelector("[data-password-checklist]");
    var first = root.querySelector("[data-password-new]");
    var second = root.querySelector("[data-password-repeat]");
    if (!list || !first) return;
    var p = first.value || "";
    list.querySelectorAll("li[data-rule]").forEach(function (li) {
      var rule = li.getAttribute("data-rule");
      var ok = rule === "match" ? (p.length > 0 && second && p === second.value) : (RULES[rule] ? RULES[rule](p) : false);
      li.classList.toggle("ok", ok);
      li.setAttribute("data-ok", ok ? "true" : "false");
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-password-new], [data-password-repeat]")) update(event.target.closest("form") || document);
  });

  document.addEventListener("click", function (event) {
    var btn = event.target.closest("[data-captcha-refresh]");
    if (!btn) return;
    var img = document.getElementById("captcha-image");
    if (img) img.src = img.getAttribute("data-captcha-src") + "&t=" + Date.now();
  });

  function init() { document.querySelectorAll("form").forEach(function (f) { update(f); }); }
  if (document.readyState !== "loading") init(); else document.addEventListener("DOMContentLoaded", init);
})();
