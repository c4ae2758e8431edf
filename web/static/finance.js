/* pcc-grants, finance: a form marked data-once disables its buttons once sent, so a second click
   sends nothing. Only a courtesy: the payment form's Idempotency-Key makes a second send
   harmless anyway (the API replays the first answer). */
(function () {
  "use strict";
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-once]")) { return; }
    if (form.dataset.sent === "yes") { evt.preventDefault(); return; }
    form.dataset.sent = "yes";
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });
  // Back to a page kept in the browser's cache: the buttons work again (the key is the same).
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        b.disabled = false;
        b.removeAttribute("aria-busy");
      });
    });
  });
})();
