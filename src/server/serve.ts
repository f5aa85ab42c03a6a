import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Tasklane } from "../client/tasklane.js";
import { createHttpApp, type HttpAppOptions } from "./app.js";

export interface ServeHttpOptions extends HttpAppOptions {
  /** TCP port; 0 = any free port [7070]. */
  port?: number;
  /** Interface to listen on [127.0.0.1]: the API is not exposed beyond this machine unless asked. */
  host?: string;
}

export interface HttpServer {
  /** `http://host:port` the server listens on. */
  url: string;
  port: number;
  host: string;
  /** Stops accepting connections, ends open event streams, and detaches from the instance. */
  close(): Promise<void>;
}

/** Serves the HTTP API on Node's http module; resolves once it listens. */
export async function serveHttp(lane: Tasklane, options: ServeHttpOptions = {}): Promise<HttpServer> {
  const host = options.host ?? "127.0.0.1";
  const app = createHttpApp(lane, options);
  let server: ServerType;
  const info = await new Promise<AddressInfo>((resolve, reject) => {
    server = serve({ fetch: app.fetch, port: options.port ?? 7070, hostname: host }, (address) => resolve(address));
    server.once("error", reject);
  });
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${info.port}`,
    port: info.port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        app.dispose();
        server.close(() => resolve());
        // Event streams never end on their own: cut every open connection.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
