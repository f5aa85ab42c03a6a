import { z } from "zod";
import { buildOpenApi } from "../../src/server/openapi.js";

/**
 * Checks responses against the OpenAPI document the server serves, so a field that is served
 * but not documented (or documented but not served) fails the test that saw it. Schemas are
 * compiled with zod's JSON Schema reader: response objects are closed (`additionalProperties:
 * false`), so an extra field is an error, not a pass.
 */

type Json = Record<string, any>;

const doc = buildOpenApi({ bodyLimit: 1024 * 1024, version: "test" }) as Json;
const components = doc.components.schemas as Record<string, Json>;

/** `{ path, pattern }` per documented path; literal paths first so `/api/tasks` never reads as `{id}`. */
const routes = Object.keys(doc.paths)
  .map((p) => ({ path: p, pattern: new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}$`) }))
  .sort((a, b) => Number(a.path.includes("{")) - Number(b.path.includes("{")));

const compiled = new Map<string, z.ZodType>();

/** A zod schema for a JSON Schema of the document, its `#/components/schemas/…` references resolved. */
function compile(key: string, schema: Json): z.ZodType {
  let s = compiled.get(key);
  if (!s) {
    const rewrite = (v: unknown): Json => JSON.parse(JSON.stringify(v).replaceAll('"#/components/schemas/', '"#/$defs/')) as Json;
    s = z.fromJSONSchema({ ...rewrite(schema), $defs: rewrite(components) } as never) as z.ZodType;
    compiled.set(key, s);
  }
  return s;
}

function issuesOf(schema: z.ZodType, value: unknown): string | null {
  const r = schema.safeParse(value);
  if (r.success) return null;
  return r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** The documented path of a request path (query ignored), or null when none matches. */
export function documentedPath(requestPath: string): string | null {
  const pathname = requestPath.split("?")[0]!;
  return routes.find((r) => r.pattern.test(pathname))?.path ?? null;
}

/**
 * Throws unless a JSON response is what the document promises for this route, method and
 * status. A route the document lacks (an unknown path or method) may only answer the
 * documented error body.
 */
export function assertDocumentedResponse(method: string, requestPath: string, status: number, contentType: string | null, body: unknown): void {
  if (!contentType?.startsWith("application/json")) return;
  const where = `${method.toUpperCase()} ${requestPath} → ${status}`;
  const path = documentedPath(requestPath);
  const operation = path ? (doc.paths[path][method.toLowerCase()] as Json | undefined) : undefined;
  if (!operation) {
    const problem = status >= 400 ? issuesOf(compile("#Error", { $ref: "#/components/schemas/Error" }), body) : "not a documented route";
    if (problem) throw new Error(`${where}: undocumented route answered ${JSON.stringify(body).slice(0, 300)} (${problem})`);
    return;
  }
  const schema = operation.responses?.[String(status)]?.content?.["application/json"]?.schema as Json | undefined;
  if (!schema) throw new Error(`${where}: status ${status} with a JSON body is not documented for ${method.toUpperCase()} ${path}`);
  const problem = issuesOf(compile(`${method} ${path} ${status}`, schema), body);
  if (problem) throw new Error(`${where}: body does not match the documented schema: ${problem}\nbody: ${JSON.stringify(body).slice(0, 2000)}`);
}

/** Throws unless the data of a Server-Sent Event is what the document promises for this stream and event name. */
export function assertDocumentedEvent(requestPath: string, event: string, data: string): void {
  const path = documentedPath(requestPath);
  const events = path ? (doc.paths[path].get?.["x-events"] as Record<string, Json> | undefined) : undefined;
  if (!events) throw new Error(`GET ${requestPath}: no documented event stream`);
  const schema = events[event];
  if (!schema) throw new Error(`GET ${requestPath}: event "${event}" is not documented (documented: ${Object.keys(events).join(", ")})`);
  const problem = issuesOf(compile(`${path} event ${event}`, schema), JSON.parse(data));
  if (problem) throw new Error(`GET ${requestPath}: event "${event}" does not match the documented schema: ${problem}\ndata: ${data.slice(0, 2000)}`);
}

/** The JSON body of a response, after {@link assertDocumentedResponse}. */
export async function documentedJson(method: string, requestPath: string, res: Response): Promise<any> {
  const body = JSON.parse(await res.text()) as unknown;
  assertDocumentedResponse(method, requestPath, res.status, res.headers.get("content-type"), body);
  return body;
}
