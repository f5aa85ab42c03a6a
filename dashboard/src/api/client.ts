import { clearToken, getToken } from "./session";
import type {
  DeletedSchedule,
  DeletedTask,
  LogPage,
  Me,
  NodeList,
  Queue,
  QueueList,
  RunList,
  Schedule,
  ScheduleList,
  Stats,
  Task,
  TaskPage,
} from "../../../src/server/contract";

/** An API refusal: the server's `{ error: { code, message } }`, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Called when the server answers 401: the token was revoked or is wrong; the app shows the login page. */
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

/** One request to the API with the stored token; JSON in, JSON out; errors as {@link ApiError}. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string; signal?: AbortSignal } = {}): Promise<T> {
  const token = init.token ?? getToken();
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK", "The server cannot be reached. Is tasklane start running?");
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && init.token === undefined) {
      clearToken();
      onUnauthenticated();
    }
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

const enc = encodeURIComponent;

/** The calls the pages make, one per route of docs/http.md. */
export const Api = {
  me: (token?: string) => api<Me>("/api/me", { token }),
  stats: (signal?: AbortSignal) => api<Stats>("/api/stats", { signal }),
  listTasks: (query: URLSearchParams, signal?: AbortSignal) => api<TaskPage>(`/api/tasks?${query.toString()}`, { signal }),
  task: (id: string, signal?: AbortSignal) => api<Task>(`/api/tasks/${enc(id)}`, { signal }),
  runs: (id: string, signal?: AbortSignal) => api<RunList>(`/api/tasks/${enc(id)}/runs`, { signal }),
  logs: (id: string, after: number) => api<LogPage>(`/api/tasks/${enc(id)}/logs?after=${after}`),
  cancel: (id: string) => api<Task>(`/api/tasks/${enc(id)}/cancel`, { method: "POST" }),
  retry: (id: string) => api<Task>(`/api/tasks/${enc(id)}/retry`, { method: "POST" }),
  remove: (id: string) => api<DeletedTask>(`/api/tasks/${enc(id)}`, { method: "DELETE" }),
  nodes: (signal?: AbortSignal) => api<NodeList>("/api/nodes", { signal }),
  types: (signal?: AbortSignal) => api<QueueList>("/api/types", { signal }),
  pauseType: (type: string) => api<Queue>(`/api/types/${enc(type)}/pause`, { method: "POST" }),
  resumeType: (type: string) => api<Queue>(`/api/types/${enc(type)}/resume`, { method: "POST" }),
  schedules: (signal?: AbortSignal) => api<ScheduleList>("/api/schedules", { signal }),
  pauseSchedule: (name: string) => api<Schedule>(`/api/schedules/${enc(name)}/pause`, { method: "POST" }),
  resumeSchedule: (name: string) => api<Schedule>(`/api/schedules/${enc(name)}/resume`, { method: "POST" }),
  triggerSchedule: (name: string) => api<Task>(`/api/schedules/${enc(name)}/trigger`, { method: "POST" }),
  deleteSchedule: (name: string) => api<DeletedSchedule>(`/api/schedules/${enc(name)}`, { method: "DELETE" }),
};

/** An EventSource URL: EventSource cannot send headers, so the token goes in `?token=` (docs/http.md). */
export function streamUrl(path: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params);
  const token = getToken();
  if (token) q.set("token", token);
  return `${path}?${q.toString()}`;
}
