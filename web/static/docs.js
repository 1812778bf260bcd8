/* Starts the vendored Swagger UI on /docs. A file, not an inline script, so the page's CSP
   needs no hash; the schema's URL comes from the page (relative: works behind a proxy). */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default validator is a public service: never called from here.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Same-origin requests carry the session cookie; "Try it out" needs the CSRF token too.
    requestInterceptor: function (request) {
      var meta = document.querySelector('meta[name="csrf-token"]');
      if (meta && meta.content) request.headers["X-CSRF-Token"] = meta.content;
      return request;
    }
  });
})();
