/* Small progressive enhancements; every page works without them. No inline scripts (CSP). */
(function () {
  "use strict";
  function onReady(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }

  onReady(function () {
    // Left menu: hidden by default, opened by the icon; remembers its state.
    var toggle = document.querySelector("[data-menu-toggle]");
    var menu = document.getElementById("side-menu");
    if (toggle && menu) {
      var open = window.localStorage && localStorage.getItem("homeportal.menu") === "open";
      function apply(state) {
        menu.hidden = !state; toggle.setAttribute("aria-expanded", state ? "true" : "false");
        try { localStorage.setItem("homeportal.menu", state ? "open" : "closed"); } catch (e) { /* private mode */ }
      }
      apply(open);
      toggle.addEventListener("click", function () { apply(menu.hidden); });
    }
  });

  // Modals swapped in by htmx close on the ✕ button, on Escape and on the backdrop.
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-modal-close]");
    if (closer) { var m = closer.closest(".modal-backdrop"); if (m) m.remove(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { var m = document.querySelector(".modal-backdrop"); if (m) m.remove(); }
  });
})();
