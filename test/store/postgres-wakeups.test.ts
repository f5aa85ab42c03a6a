import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import type { NewTask } from "../../src/store/store.js";
import { parseWakePayload, WAKE_CHANNEL, wakePayloadFor } from "../../src/store/postgres/postgres-notify.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { WakeSender } from "../../src/store/postgres/postgres-wake-sender.js";
import { schemaFactory, TEST_PG_URL } from "../helpers/postgres.js";
import { waitFor } from "../helpers/lane.js";

const schemas = schemaFactory("tl_wake");
afterAll(() => schemas.dropAll());

let n = 0;
const task = (type: string, runAt: number | null = null): NewTask => ({
  id: `w${n++}`, type, name: null, description: null, params: {}, priority: 0, runAt, maxAttempts: 3, maxRuns: 10,
  backoff: { type: "fixed", delayMs: 10, maxMs: 10, jitter: 0 }, timeoutMs: null, cpu: 0, executor: null, deadline: null,
  deleteAfterMs: 60_000, key: null, owner: null, group: null, followUps: null,
});

describe("PostgreSQL wake-up payloads", () => {
  it("name the types of the new work, and fall back to any type when they would not fit", () => {
    expect(parseWakePayload("s", wakePayloadFor("s", ["a", "b:c"]))).toEqual({ hint: "work", types: ["a", "b:c"] });
    expect(parseWakePayload("s", "s")).toEqual({ hint: "work" });
    expect(parseWakePayload("s", "s:at:1700000000000")).toEqual({ hint: "work", dueAt: 1700000000000 });
    expect(parseWakePayload("s", "s:work:not json")).toEqual({ hint: "work" });
    expect(parseWakePayload("s", "other:work:[\"a\"]")).toBeNull();
    const many = Array.from({ length: 2000 }, (_, i) => `type-number-${i}`);
    expect(wakePayloadFor("s", many)).toBe("s");
  });
});

describe("WakeSender", () => {
  it("keeps one NOTIFY in flight and announces what was added meanwhile in the next", async () => {
    const sent: string[][] = [];
    let release: () => void = () => undefined;
    const sender = new WakeSender("s", (_channel, payloads) => {
      sent.push(payloads);
      return new Promise<void>((resolve) => (release = resolve));
    });
    sender.wake(["a"], null);
    await waitFor(() => sent.length === 1, "the first NOTIFY");
    for (let i = 0; i < 50; i++) sender.wake([i % 2 ? "b" : "c"], null);
    sender.wake([], 5000);
    sender.wake([], 3000);
    expect(sent).toHaveLength(1);
    release();
    await waitFor(() => sent.length === 2, "the second NOTIFY");
    release();
    await sender.flush();
    expect(sent).toEqual([["s:work:[\"a\"]"], ["s:work:[\"c\",\"b\"]", "s:at:3000"]]);
  });
});

describe("PostgreSQL adds wake workers after their commit", () => {
  it("with the types added, coalescing concurrent adds, and the due time of work for later", async () => {
    const schema = schemas.next();
    const store = await PostgresStore.open({ url: TEST_PG_URL, schema, poolSize: 4 });
    const listener = new pg.Client({ connectionString: TEST_PG_URL });
    await listener.connect();
    const heard: string[] = [];
    listener.on("notification", (m) => {
      if (m.payload?.startsWith(schema)) heard.push(m.payload);
    });
    await listener.query(`LISTEN ${WAKE_CHANNEL}`);
    try {
      await store.taskInsertMany([task("export")], { maxQueued: new Map() });
      await waitFor(() => heard.length === 1, "the wake-up of one add");
      expect(parseWakePayload(schema, heard[0]!)).toEqual({ hint: "work", types: ["export"] });

      // 40 concurrent adds from one store: far fewer NOTIFYs, and every type is announced.
      heard.length = 0;
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.taskInsertMany([task(i % 2 ? "mail" : "sync")], { maxQueued: new Map() })));
      await waitFor(() => new Set(heard.flatMap((p) => parseWakePayload(schema, p)?.types ?? [])).size === 2, "both types announced");
      expect(heard.length).toBeLessThan(40);

      // Work due later tells its due time, and no type (no node should claim now).
      const later = Date.now() + 60_000;
      await store.taskInsertMany([task("export", later)], { maxQueued: new Map() });
      const dueLater = await waitFor(() => heard.map((p) => parseWakePayload(schema, p)).find((w) => w?.dueAt !== undefined), "the due time");
      expect(dueLater.types).toBeUndefined();
      expect(Math.abs(dueLater.dueAt! - later)).toBeLessThan(5000);

      // A queue-limited add (its own transaction) wakes after commit too.
      await store.taskInsertMany([task("limited")], { maxQueued: new Map([["limited", 10]]) });
      await waitFor(() => heard.some((p) => parseWakePayload(schema, p)?.types?.includes("limited")), "the limited type announced");
    } finally {
      await listener.end();
      await store.close();
    }
  });
});
