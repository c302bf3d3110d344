/* Small progressive enhancements; every page works without them. No inline scripts (CSP).
   Accessibility (issue #14, docs/accessibility.md): the phone menu as an overlay, modals that
   take the focus and keep it, table cells labelled for the stacked phone layout, an error
   summary above a form with errors, and htmx messages read out by screen readers. */
(function () {
  "use strict";
  /* File pickers (includes/filepick.html): with this class the native input is visually hidden and
     the «Выберите файл» label and the chosen names show instead of the browser's own caption. */
  document.documentElement.classList.add("js-filepick");
  function filepickShow(input) {
    var box = input.closest(".filepick"), out = box && box.querySelector("[data-filepick-name]");
    if (!out) return;
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    out.textContent = names.length ? names.join(", ") : out.getAttribute("data-filepick-empty");
    box.classList.toggle("filepick-chosen", names.length > 0);
  }
  function filepickAll() {
    Array.prototype.forEach.call(document.querySelectorAll(".filepick input[type=file]"), filepickShow);
  }
  // change also after a script empties the input (it dispatches change); pageshow: back/forward cache
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches(".filepick input[type=file]")) filepickShow(input);
  });
  window.addEventListener("pageshow", filepickAll);
  window.HomeportalFilepick = { refresh: filepickShow };
  function onReady(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), " +
    "textarea:not([disabled]), [tabindex]:not([tabindex='-1']), summary";
  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }
  function focusables(root) {
    var groups = {};
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
      if (!visible(el) || el.closest("[inert]")) return false;
      if (el.type === "radio" && el.name) {  // a radio group is one tab stop: its checked radio, else its first
        var key = (el.form ? "f" : "") + el.name;
        var checked = root.querySelector("input[type=radio][name='" + el.name + "']:checked");
        if (groups[key] || (checked && checked !== el)) return false;
        groups[key] = true;
      }
      return true;
    });
  }
  var small = window.matchMedia ? window.matchMedia("(max-width: 800px)") : { matches: false };

  // --- the left menu: remembered on desktop; on a phone an overlay, never reopened by itself --------
  function setupMenu() {
    var toggle = document.querySelector("[data-menu-toggle]");
    var menu = document.getElementById("side-menu");
    if (!toggle || !menu) return;
    var backdrop = document.querySelector("[data-menu-backdrop]");
    function apply(state, opts) {
      menu.hidden = !state; toggle.setAttribute("aria-expanded", state ? "true" : "false");
      if (backdrop) backdrop.hidden = !(state && small.matches);
      if (!small.matches) {
        try { localStorage.setItem("homeportal.menu", state ? "open" : "closed"); } catch (e) { /* private mode */ }
      }
      if (opts && opts.focus) {
        if (state) { var first = focusables(menu)[0]; if (first) first.focus(); } else { toggle.focus(); }
      }
    }
    var stored = false;
    try { stored = localStorage.getItem("homeportal.menu") === "open"; } catch (e) { /* private mode */ }
    apply(stored && !small.matches);
    toggle.addEventListener("click", function () { apply(menu.hidden, { focus: small.matches }); });
    document.addEventListener("click", function (event) {
      if (event.target.closest("[data-menu-close]") || event.target.closest("[data-menu-backdrop]")) apply(false, { focus: true });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !menu.hidden && small.matches && !document.querySelector(".modal-backdrop")) apply(false, { focus: true });
    });
    if (small.addEventListener) small.addEventListener("change", function () { apply(false); });
  }

  // --- modals (signing, consent, create, type choice): focus in, Tab kept inside, Esc, focus back ---
  var active = null;   // {dialog, trigger, inerted: [elements]}
  var lastTrigger = null;
  document.addEventListener("focusin", function (event) {
    if (!event.target.closest || !event.target.closest("[role=dialog]")) lastTrigger = event.target;
  });
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest(FOCUSABLE);
    if (el && !el.closest("[role=dialog]")) lastTrigger = el;
  }, true);
  function currentDialog() {
    var all = document.querySelectorAll(".modal-backdrop [role=dialog]");
    return all.length ? all[all.length - 1] : null;
  }
  function inertOutside(el) {
    var done = [];
    for (var node = el; node && node !== document.body; node = node.parentElement) {
      var parent = node.parentElement;
      if (!parent) break;
      Array.prototype.forEach.call(parent.children, function (sibling) {
        // #live-status stays out of it: an inert live region is hidden from screen readers, and
        // what a modal's own swaps announce (the QR status) is read out through it
        if (sibling !== node && !sibling.inert && sibling.tagName !== "SCRIPT" && sibling.tagName !== "LINK" &&
            sibling.id !== "live-status") {
          sibling.inert = true; done.push(sibling);
        }
      });
    }
    return done;
  }
  function release() {
    if (!active) return;
    active.inerted.forEach(function (el) { el.inert = false; });
    var back = active.trigger;
    active = null;
    if (back && document.contains(back) && visible(back)) back.focus();
    else { var main = document.getElementById("main"); if (main) main.focus(); }
  }
  function focusInto(dialog) {
    if (dialog.contains(document.activeElement)) return;
    var items = focusables(dialog).filter(function (el) { return !el.hasAttribute("data-modal-close"); });
    var target = dialog.querySelector("[autofocus]") || items[0] || focusables(dialog)[0];
    if (target) target.focus(); else { dialog.setAttribute("tabindex", "-1"); dialog.focus(); }
  }
  function syncModal() {
    var dialog = currentDialog();
    if (active && active.dialog === dialog) return;
    if (!dialog) { release(); return; }
    var trigger = active ? active.trigger : lastTrigger;
    if (!trigger && dialog.getAttribute("data-return-focus")) {  // the page came with its modal open
      trigger = document.querySelector(dialog.getAttribute("data-return-focus"));
    }
    if (active) active.inerted.forEach(function (el) { el.inert = false; });  // a step replaced the dialog
    active = { dialog: dialog, trigger: trigger, inerted: inertOutside(dialog.closest(".modal-backdrop")) };
    if (!dialog.hasAttribute("aria-modal")) dialog.setAttribute("aria-modal", "true");
    focusInto(dialog);
  }
  function closeModal(backdrop) { if (backdrop) backdrop.remove(); syncModal(); }
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-modal-close]");
    if (closer) { closeModal(closer.closest(".modal-backdrop")); return; }
    if (event.target.classList && event.target.classList.contains("modal-backdrop")) closeModal(event.target);
  });
  document.addEventListener("keydown", function (event) {
    var dialog = currentDialog();
    if (!dialog) return;
    if (event.key === "Escape") { event.preventDefault(); closeModal(dialog.closest(".modal-backdrop")); return; }
    if (event.key !== "Tab") return;
    var items = focusables(dialog);
    if (!items.length) { event.preventDefault(); return; }
    var first = items[0], last = items[items.length - 1];
    if (!dialog.contains(document.activeElement)) { event.preventDefault(); first.focus(); }
    else if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
    else {  // whatever the browser's own order did (radio groups, widgets), the focus stays inside
      var back = event.shiftKey;
      window.setTimeout(function () {
        if (currentDialog() === dialog && !dialog.contains(document.activeElement)) (back ? last : first).focus();
      }, 0);
    }
  });

  // --- tables: each cell knows its column header (the stacked layout on phones shows it) ----------
  function labelCells(root) {
    Array.prototype.forEach.call(root.querySelectorAll("table.data, table.table"), function (table) {
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) return;
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
        var col = 0;
        Array.prototype.forEach.call(row.children, function (cell) {
          var head = heads[col];
          if (head && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", head.textContent.trim());
          col += cell.colSpan || 1;
        });
      });
    });
  }

  // --- a form with errors: a summary at the top linking to each field (WCAG 3.3.1) ------------------
  function errorSummary(root, focus) {
    var title = document.body.getAttribute("data-error-summary");
    if (!title) return;
    Array.prototype.forEach.call(root.querySelectorAll("form"), function (form) {
      var invalid = form.querySelectorAll("[aria-invalid=true]");
      var old = form.querySelector(".error-summary");
      if (old) old.remove();
      if (invalid.length < 2) return;  // one error is next to the only field in question
      var box = document.createElement("div");
      box.className = "error-summary"; box.setAttribute("role", "alert"); box.tabIndex = -1;
      var h = document.createElement("p"); h.className = "error-summary-title"; h.textContent = title; box.appendChild(h);
      var ul = document.createElement("ul");
      Array.prototype.forEach.call(invalid, function (field) {
        var label = field.id && form.querySelector("label[for='" + field.id + "']");
        var error = document.getElementById((field.getAttribute("aria-describedby") || "").split(" ")[0]);
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = "#" + field.id;
        a.textContent = (label ? label.textContent.replace(/\s*\*\s*$/, "").trim() + ": " : "") + (error ? error.textContent.trim() : "");
        a.addEventListener("click", function (e) { e.preventDefault(); field.focus(); });
        li.appendChild(a); ul.appendChild(li);
      });
      box.appendChild(ul);
      form.insertBefore(box, form.firstChild);
      if (focus && !document.querySelector(".modal-backdrop")) box.focus();
    });
  }

  // --- htmx: what a swap brought (a message, an error) is read out; the new content is enhanced -----
  // [data-announce="changes"] (a polled status) is read out only when its text changes.
  var lastSaid = "";
  function announce(root) {
    var live = document.getElementById("live-status");
    if (!live || !root.querySelectorAll) return;
    var said = [], changesOnly = true;
    var found = Array.prototype.slice.call(root.querySelectorAll(".toast, [data-announce]"));
    if (root.matches && root.matches("[data-announce]")) found.unshift(root);
    found.forEach(function (el) {
      said.push(el.textContent.replace(/\s+/g, " ").trim());
      if (el.getAttribute("data-announce") !== "changes") changesOnly = false;
    });
    var text = said.join(" ");
    if (!text || (changesOnly && text === lastSaid)) return;
    lastSaid = text;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = event.detail && event.detail.target ? event.detail.target : document;
    var scope = root.closest ? (root.closest("form") || root) : document;
    labelCells(root.parentElement || document);
    rovingTabs(root.parentElement || document);
    errorSummary(scope.parentElement || document, false);
    announce(event.target && event.target.nodeType === 1 && document.contains(event.target) ? event.target : root);
    syncModal();
  });

  // --- tabs (login methods, wizard and appeal tabs): the ARIA tabs pattern, arrow keys move -----------
  function rovingTabs(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[role=tablist]"), function (list) {
      var tabs = list.querySelectorAll("[role=tab]");
      var selected = list.querySelector("[role=tab][aria-selected=true]") || tabs[0];
      Array.prototype.forEach.call(tabs, function (tab) { tab.setAttribute("tabindex", tab === selected ? "0" : "-1"); });
    });
  }
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tab]");
    if (!tab) return;
    var list = tab.closest("[role=tablist]");
    var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
    var i = tabs.indexOf(tab), next = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") next = tabs[(i + 1) % tabs.length];
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    else if (event.key === " " && tab.tagName === "A") { event.preventDefault(); tab.click(); return; }
    if (!next) return;
    event.preventDefault();
    next.focus();
    if (next.tagName !== "A") return;  // a wizard tab saves the form: chosen with Enter/Space (manual activation)
    next.click();  // a link tab: automatic activation, the panel is loaded (htmx) or shown
  });
  // A link tab that loads its panel with htmx is marked selected at once. Only the panel is swapped
  // (the strip stays, so the focused tab is never replaced) and hx-sync on the tab lets the last
  // press win: see cabinets/templates/cabinets/login.html, docs/accessibility.md.
  function selectTab(tab) {
    var list = tab.closest("[role=tablist]");
    if (!list) return;
    Array.prototype.forEach.call(list.querySelectorAll("[role=tab]"), function (other) {
      other.setAttribute("aria-selected", other === tab ? "true" : "false");
      other.setAttribute("tabindex", other === tab ? "0" : "-1");
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var tab = event.detail && event.detail.elt;
    if (tab && tab.matches && tab.matches("a[role=tab][hx-get]")) selectTab(tab);
  });

  onReady(function () {
    setupMenu();
    rovingTabs(document);
    labelCells(document);
    errorSummary(document, true);
    if (window.MutationObserver) new MutationObserver(syncModal).observe(document.body, { childList: true, subtree: true });
    syncModal();
  });
})();
