// init.js: starts Swagger UI on the /docs page, reading the document this
// server serves at /openapi.json. Kept out of index.html so the page needs no
// inline script. Nothing here talks to another host: the online spec
// validator badge is switched off (validatorUrl null).
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  if (typeof window.SwaggerUIBundle !== "function") {
    document.getElementById("swagger-ui").textContent =
      "Swagger UI did not load (/docs/assets/swagger-ui-bundle.js). " +
      "The API document is at /openapi.json.";
    return;
  }
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    displayOperationId: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
