/* pcc-grants: progressive enhancement only; every page works without this file. */
(function () {
  "use strict";

  // Focus the error summary of a form that came back with problems (full page or htmx swap).
  function focusErrors(root) {
    var summary = (root || document).querySelector(".error-summary");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusErrors(document); });
  document.addEventListener("htmx:afterSwap", function (evt) { focusErrors(evt.detail.target); });

  // Upload progress: <progress data-upload-progress> inside the uploading form.
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target.closest ? evt.target.closest("form") : null;
    var bar = form ? form.querySelector("progress[data-upload-progress]") : null;
    if (bar && evt.detail.lengthComputable) {
      bar.hidden = false;
      bar.max = evt.detail.total;
      bar.value = evt.detail.loaded;
    }
  });

  // Live budget totals: rows carry data-budget-row; inputs name quantity / unit_cost.
  function parseAmount(text) {
    var s = String(text || "").replace(/[\s\u00a0\u202f]/g, "");
    if (s.indexOf(",") >= 0 && s.indexOf(".") < 0) { s = s.replace(",", "."); } else { s = s.replace(/,/g, ""); }
    var n = Number(s);
    return isFinite(n) ? n : 0;
  }
  // the amount as the server writes it: the page's own separators (data-decimal, data-group
  // on <body>), not the browser's idea of the language (Intl may not know Kyrgyz)
  function formatAmount(n) {
    var root = document.body;
    var dec = root.getAttribute("data-decimal") || ".";
    var group = root.getAttribute("data-group") || ",";
    var parts = Math.abs(n).toFixed(2).split(".");
    var whole = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, group);
    return (n < 0 ? "-" : "") + whole + dec + parts[1];
  }
  function recalcBudget(table) {
    var total = 0, byCategory = {};
    table.querySelectorAll("[data-budget-row]").forEach(function (row) {
      var q = parseAmount((row.querySelector("[data-quantity]") || {}).value);
      var u = parseAmount((row.querySelector("[data-unit-cost]") || {}).value);
      var cat = ((row.querySelector("[data-category]") || {}).value || "").trim();
      var line = Math.round(q * u * 100) / 100;
      var out = row.querySelector("[data-line-total]");
      if (out) { out.textContent = formatAmount(line); }
      total += line;
      if (cat) { byCategory[cat] = (byCategory[cat] || 0) + line; }
    });
    var totalOut = table.querySelector("[data-budget-total]");
    if (totalOut) { totalOut.textContent = formatAmount(total); }
    var cats = document.querySelector("[data-category-totals]");
    if (cats) {
      cats.textContent = "";
      Object.keys(byCategory).sort().forEach(function (name) {
        var dt = document.createElement("dt"); dt.textContent = name;
        var dd = document.createElement("dd"); dd.textContent = formatAmount(byCategory[name]);
        cats.appendChild(dt); cats.appendChild(dd);
      });
    }
  }
  document.addEventListener("input", function (evt) {
    var table = evt.target.closest ? evt.target.closest("[data-budget]") : null;
    if (table) { recalcBudget(table); }
  });

  // A "saved" indicator: forms with data-autosave show their state in [data-save-state].
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var state = evt.target.closest && evt.target.closest("[data-autosave]") ? document.querySelector("[data-save-state]") : null;
    if (state && state.dataset.savingText) { state.textContent = state.dataset.savingText; }
  });
})();

// The proposal editor: a full save (a submit button) stops the autosave of the same form, so the
// two never race with the same version; an autosave in flight is let finish (its new version is
// swapped in) and the submit is then repeated.
(function () {
  "use strict";
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-autosave")) { return; }
    form.setAttribute("data-submitting", "");
    if (form.classList.contains("htmx-request")) {
      evt.preventDefault();
      var submitter = evt.submitter || null;
      form.addEventListener("htmx:afterRequest", function () {
        if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
      }, { once: true });
    }
  }, true);
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-autosave") && elt.hasAttribute("data-submitting")) {
      evt.preventDefault();
    }
  });
  // Back from the next page (bfcache): autosave again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (f) { f.removeAttribute("data-submitting"); });
  });
})();

// The autosave could not reach the server at all: say so; the text stays in the form.
(function () {
  "use strict";
  document.addEventListener("htmx:sendError", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-autosave")) { return; }
    var state = document.querySelector("[data-save-state]");
    if (state && state.dataset.offlineText) {
      state.textContent = state.dataset.offlineText;
      state.classList.add("conflict");
    }
  });
})();
