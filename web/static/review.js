/* pcc-grants: the reviewer's scoring form — the weighted total as the reviewer scores.
   Progressive enhancement only: the server shows the total after every save without this file.
   Each criterion is a fieldset[data-criterion][data-weight] (thousandths) whose checked radio
   holds tenths of a point, "na" (not applicable: left out, the weights renormalised over the
   rest) or "" (not scored yet: left out too). */
(function () {
  "use strict";
  function format(points) {
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 2 }).format(points);
    } catch (e) { return String(Math.round(points * 100) / 100); }
  }
  function recalc(form) {
    var num = 0, den = 0;
    form.querySelectorAll("fieldset[data-criterion]").forEach(function (fs) {
      var weight = Number(fs.getAttribute("data-weight")) || 0;
      var checked = fs.querySelector("input[type=radio]:checked");
      var value = checked ? checked.value : "";
      if (value !== "" && value !== "na" && isFinite(Number(value))) {
        num += Number(value) * weight;
        den += weight;
      }
    });
    var out = form.querySelector("[data-review-total]");
    if (!out) { return; }
    out.textContent = den ? format(num / den / 10) : (out.getAttribute("data-empty") || "—");
  }
  document.addEventListener("change", function (evt) {
    var form = evt.target && evt.target.closest ? evt.target.closest("form[data-review-form]") : null;
    if (form) { recalc(form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-review-form]").forEach(recalc);
  });
})();
