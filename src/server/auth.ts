import type { MiddlewareHandler } from "hono";
import type { Tasklane } from "../client/tasklane.js";
import { errorJson } from "./errors.js";
import type { HttpEnv } from "./request.js";

/**
 * Bearer-token authentication: `Authorization: Bearer <token>`, or `?token=` where a header
 * cannot be set (a browser's EventSource). Every failure answers the same 401, so a caller
 * learns nothing about which tokens exist. The token is never logged.
 */
export function requireUser(lane: Tasklane): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    let token: string | undefined;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      token = m?.[1];
    } else {
      token = new URL(c.req.url).searchParams.get("token") ?? undefined;
    }
    if (!token) {
      c.header("WWW-Authenticate", 'Bearer realm="tasklane"');
      return errorJson(c, 401, "UNAUTHENTICATED", "authorization: send Authorization: Bearer <token> (tasklane user add NAME prints one)", {
        field: "authorization",
      });
    }
    const user = await lane.users.authenticate(token);
    if (!user) {
      c.header("WWW-Authenticate", 'Bearer realm="tasklane", error="invalid_token"');
      return errorJson(c, 401, "UNAUTHENTICATED", "authorization: unknown or revoked token", { field: "authorization" });
    }
    c.set("user", user);
    await next();
  };
}

/** Admin-only routes answer 403 to users. */
export const requireAdmin: MiddlewareHandler<HttpEnv> = async (c, next) => {
  if (c.get("user").role !== "admin") return errorJson(c, 403, "FORBIDDEN", "this route is for admins only");
  await next();
};
