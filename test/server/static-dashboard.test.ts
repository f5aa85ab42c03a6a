/** The dashboard's files served by the HTTP app: content types, caching, SPA fallback, and the API left alone. */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpApp, Tasklane } from "../../src/index.js";
import { tempDir } from "../helpers/temp.js";
import { documentedJson } from "./openapi-check.js";

let dir: string;
let cleanup: () => void;
let lane: Tasklane;
let app: ReturnType<typeof createHttpApp>;
let token: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("tasklane-static-"));
  const build = path.join(dir, "build");
  fs.mkdirSync(path.join(build, "assets"), { recursive: true });
  fs.writeFileSync(path.join(build, "index.html"), '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>');
  fs.writeFileSync(path.join(build, "assets", "index-AbC123.js"), "console.log(1)");
  fs.writeFileSync(path.join(build, "assets", "index-AbC123.css"), "body{}");
  fs.writeFileSync(path.join(build, "favicon.svg"), "<svg/>");
  fs.writeFileSync(path.join(dir, "secret.txt"), "not for the web");
  lane = await Tasklane.open({ db: `sqlite:${path.join(dir, "x.db")}` });
  token = (await lane.users.add("admin", { role: "admin" })).token.token;
  app = createHttpApp(lane, { dashboard: build, defaultMetrics: false });
});
afterAll(async () => {
  app?.dispose();
  await lane?.close();
  cleanup?.();
});

const get = (p: string, headers: Record<string, string> = {}) => app.fetch(new Request(`http://localhost${p}`, { headers }));
const html = { accept: "text/html,application/xhtml+xml" };

describe("the dashboard's static files", () => {
  it("serves the page at / to browsers, with a Content-Security-Policy, revalidated", async () => {
    const res = await get("/?token=tl_x", html);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toContain("/assets/index-AbC123.js");
  });

  it("answers deep links of the app with the page (SPA fallback)", async () => {
    for (const p of ["/tasks", "/tasks/01abc", "/nodes", "/schedules"]) {
      const res = await get(p, html);
      expect(res.status, p).toBe(200);
      expect(await res.text()).toContain("<!doctype html>");
    }
  });

  it("serves hashed assets with their type and a year of immutable cache; other files revalidate", async () => {
    const js = await get("/assets/index-AbC123.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toBe("console.log(1)");
    const css = await get("/assets/index-AbC123.css");
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    const icon = await get("/favicon.svg");
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(icon.headers.get("cache-control")).toBe("no-cache");
    const head = await app.fetch(new Request("http://localhost/assets/index-AbC123.js", { method: "HEAD" }));
    expect(head.status).toBe(200);
  });

  it("never serves a file outside the build, and a missing asset is a 404", async () => {
    for (const p of ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt", "/assets/missing.js"]) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain("not for the web");
    }
  });

  it("leaves the API alone: JSON for API clients, no-store, 404 JSON under /api even for browsers", async () => {
    const index = await get("/");
    expect(index.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await documentedJson("GET", "/", index)) as object).toMatchObject({ name: "tasklane" });
    const me = await get("/api/me", { authorization: `Bearer ${token}` });
    expect(me.status).toBe(200);
    expect(me.headers.get("cache-control")).toBe("no-store");
    await documentedJson("GET", "/api/me", me);
    const missing = await get("/api/nope", { ...html, authorization: `Bearer ${token}` });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toMatch(/^application\/json/);
    await documentedJson("GET", "/api/nope", missing);
    const health = await get("/healthz", html);
    expect(health.headers.get("content-type")).toMatch(/^application\/json/);
    await documentedJson("GET", "/healthz", health);
  });

  it("serves no page when turned off", async () => {
    const plain = createHttpApp(lane, { dashboard: false, defaultMetrics: false });
    const res = await plain.fetch(new Request("http://localhost/tasks", { headers: html }));
    expect(res.status).toBe(404);
    plain.dispose();
  });
});
