/* pcc-grants: a financial report's running total while amounts are typed (enhancement only:
   the saved total is always shown by the server). */
(function () {
  "use strict";
  function parseAmount(text) {
    var s = String(text || "").replace(/[\s\u00a0\u202f]/g, "");
    if (s.indexOf(",") >= 0 && s.indexOf(".") < 0) { s = s.replace(",", "."); } else { s = s.replace(/,/g, ""); }
    if (!/^\d*\.?\d*$/.test(s)) { return null; }
    var n = Number(s);
    return isFinite(n) ? n : null;
  }
  function update(box) {
    var out = document.querySelector("[data-spent-total]");
    if (!out) { return; }
    var total = 0, bad = false;
    box.querySelectorAll("input[data-spent]").forEach(function (input) {
      var n = parseAmount(input.value);
      if (n === null) { bad = true; } else { total += n; }
    });
    var lang = document.documentElement.lang || "en";
    var words;
    try {
      words = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(total);
    } catch (e) { words = total.toFixed(2); }
    out.textContent = (bad ? out.dataset.badText : out.dataset.template).replace("{amount}", words);
    out.hidden = false;
  }
  document.addEventListener("input", function (evt) {
    var box = evt.target.closest ? evt.target.closest("[data-spending]") : null;
    if (box && evt.target.matches("input[data-spent]")) { update(box); }
  });
})();
