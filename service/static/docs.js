// Starts Swagger UI on /api/docs. A file of its own (not an inline script), so that the page's
// Content-Security-Policy can allow scripts from 'self' only.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null, // never send the contract to validator.swagger.io
  });
});
