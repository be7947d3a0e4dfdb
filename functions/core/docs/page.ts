/**
 * The Swagger UI page at `GET /docs`: an HTML shell that loads Swagger UI's style sheet and
 * bundle from `/docs/...` (served from the installed swagger-ui-dist package, never a CDN) and
 * this module's own initializer script, which points Swagger UI at `/openapi.json`. Nothing is
 * inline, so the page is served under a CSP that allows scripts from its own origin only.
 */

/** The files of swagger-ui-dist the page loads, by the name it asks for them under `/docs/`. */
export const SWAGGER_UI_FILES = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;

export type SwaggerUiFile = keyof typeof SWAGGER_UI_FILES;

export const INITIALIZER_FILE = 'initializer.js';

/**
 * Scripts and styles from this origin only. Swagger UI sets style attributes from script
 * (`style-src 'unsafe-inline'`) and draws icons from data URIs; "Try it out" and the document
 * fetch go to this origin (`connect-src 'self'`).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Sluice API</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/docs/swagger-ui.css">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/${INITIALIZER_FILE}"></script>
  </body>
</html>
`;

/**
 * Starts Swagger UI over the document this host serves. The document's server is relative
 * (`/`), so "Try it out" calls this same origin with whatever token "Authorize" was given.
 */
export const INITIALIZER_JS = `'use strict';
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    docExpansion: 'none',
    defaultModelsExpandDepth: 0,
    displayOperationId: true,
    filter: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
    validatorUrl: null,
  });
});
`;
