import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/**
 * The dashboard is built once, at `npm run build`, into `dist/dashboard/` inside the package
 * ("files": ["dist", …] ships it); `tasklane start` serves those files at `/`. Nothing is
 * fetched at run time: no CDN, no web fonts.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/dashboard", import.meta.url)),
    // outDir is outside root: Vite only empties it when told to; stale hashed files would pile up.
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
  },
  server: {
    // `npm run dev:dashboard` proxies the API to a running `tasklane start` on the default port.
    proxy: { "/api": "http://127.0.0.1:7070", "/healthz": "http://127.0.0.1:7070" },
  },
});
