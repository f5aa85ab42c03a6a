/** The HTTP API: a Fetch handler (`createHttpApp`) and a Node server for it (`serveHttp`). */
export { createHttpApp } from "./app.js";
export type { HttpAppOptions, TasklaneHttpApp } from "./app.js";
export { serveHttp } from "./serve.js";
export type { HttpServer, ServeHttpOptions } from "./serve.js";
