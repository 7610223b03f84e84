// Starts Swagger UI on the API docs page (templates/drf_spectacular/swagger_ui.html). The page has no
// inline script (the Content-Security-Policy refuses it); its settings come in this tag's data- attributes.
(() => {
  const tag = document.getElementById("api-docs-init");
  const data = tag.dataset;
  const extra = data.settings ? JSON.parse(data.settings) : {};
  window.ui = SwaggerUIBundle({
    url: data.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" sends the API key the reader typed in; a same-origin write also carries the CSRF token.
    requestInterceptor: (request) => {
      if (request.method && request.method !== "GET" && request.credentials === "same-origin" && data.csrfHeader) {
        request.headers[data.csrfHeader] = data.csrfToken;
      }
      return request;
    },
    ...extra,
  });
})();
