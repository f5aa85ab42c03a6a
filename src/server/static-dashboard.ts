import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MiddlewareHandler } from "hono";

/**
 * Serves the prebuilt dashboard (`dist/dashboard/`, built by `vite build`) from the same origin
 * as the API, so the page needs no CORS and its token never leaves this server.
 *
 * - a file of the build is served with its content type; Vite puts a content hash in every name
 *   under `assets/`, so those are cached for a year (`immutable`); everything else is revalidated;
 * - any other GET of a path outside the API that asks for HTML gets `index.html` (the SPA's own
 *   router draws `/tasks/…`, `/nodes`, …), with a Content-Security-Policy;
 * - everything else falls through to the API routes: `curl /` still gets the JSON index, and
 *   `/api/*` keeps `Cache-Control: no-store`.
 *
 * Without a build (running from `src/` in tests, or `npm run build` not done) it does nothing.
 */
export function dashboardMiddleware(dir: string | null = defaultDashboardDir()): MiddlewareHandler {
  const files = dir !== null && fs.existsSync(path.join(dir, "index.html")) ? new StaticFiles(dir) : null;
  return async (c, next) => {
    if (!files || (c.req.method !== "GET" && c.req.method !== "HEAD") || isApiPath(c.req.path)) return next();
    const file = await files.read(c.req.path);
    if (file) {
      const immutable = c.req.path.startsWith("/assets/");
      const headers: Record<string, string> = {
        "Content-Type": file.type,
        "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      };
      if (file.type.startsWith("text/html")) headers["Content-Security-Policy"] = CSP;
      return c.req.method === "HEAD" ? c.body(null, 200, headers) : c.body(file.body, 200, headers);
    }
    // A deep link into the SPA. Only browsers navigating (Accept: text/html) get the page, so
    // API clients keep getting JSON (the `/` index, or a JSON 404).
    if (!(c.req.header("accept") ?? "").includes("text/html")) return next();
    const index = await files.read("/index.html");
    if (!index) return next();
    const headers = { "Content-Type": index.type, "Cache-Control": "no-cache", "Content-Security-Policy": CSP };
    return c.req.method === "HEAD" ? c.body(null, 200, headers) : c.body(index.body, 200, headers);
  };
}

/** Where `npm run build` puts the dashboard: `<package>/dist/dashboard/` (this file is `dist/server/…`). */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL("../dashboard/", import.meta.url));
}

/**
 * The page loads only its own scripts and styles and talks only to this origin: an injected
 * script could read the token from localStorage, so none may run. Inline style attributes stay
 * allowed for the width of progress bars.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
  "form-action 'self'",
].join("; ");

/** Paths that always belong to the API, even when a browser asks for them. */
function isApiPath(p: string): boolean {
  return p === "/api" || p.startsWith("/api/") || p === "/metrics" || p === "/healthz";
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".woff2": "font/woff2",
};

interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
}

/** The build's files, read once each: they never change while the server runs. */
class StaticFiles {
  private readonly root: string;
  private readonly cache = new Map<string, StaticFile | null>();

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  async read(urlPath: string): Promise<StaticFile | null> {
    if (urlPath === "/" || urlPath.endsWith("/")) return null;
    const cached = this.cache.get(urlPath);
    if (cached !== undefined) return cached;
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    const full = path.resolve(this.root, "." + path.posix.normalize(decoded));
    // Never outside the build folder (`/../../etc/passwd`, encoded or not).
    if (!full.startsWith(this.root + path.sep) || decoded.includes("\0")) return null;
    const type = CONTENT_TYPES[path.extname(full).toLowerCase()];
    let file: StaticFile | null = null;
    if (type) {
      try {
        const stat = await fs.promises.stat(full);
        if (stat.isFile()) file = { body: new Uint8Array(await fs.promises.readFile(full)), type };
      } catch {
        file = null;
      }
    }
    // Misses are cached too, but only a bounded number, so random probes cannot grow memory.
    if (file || this.cache.size < 1000) this.cache.set(urlPath, file);
    return file;
  }
}
