/** A ValidationError names the input at fault in its `field` property; the HTTP layer reads that, not the message. */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  defineTask,
  ParamsValidationError,
  TasklaneError,
  UserExistsError,
  UserNotFoundError,
  ValidationError,
} from "../../src/index.js";
import { toErrorResponse } from "../../src/server/errors.js";
import { useLanes } from "../helpers/lane.js";

const typed = defineTask({ name: "typed", params: z.strictObject({ n: z.number().int().min(0) }), run: async () => null });
const plain = defineTask({ name: "plain", run: async () => null });

/** The error a promise rejects with. */
async function refusal(p: Promise<unknown>): Promise<TasklaneError> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TasklaneError);
  return error as TasklaneError;
}

describe("ValidationError.field", () => {
  const useLane = useLanes("sqlite");

  it("names the option, the params, and the path through follow-ups and batches", async () => {
    const lane = await useLane().open({ tasks: [typed, plain] });
    const delay = await refusal(lane.add("plain", {}, { delay: "soon" }));
    expect(delay).toBeInstanceOf(ValidationError);
    expect(delay.field).toBe("delay");

    const params = await refusal(lane.add("typed", { n: -1 }));
    expect(params).toBeInstanceOf(ParamsValidationError);
    expect(params).toMatchObject({ field: "params", type: "typed" });
    expect((params as ParamsValidationError).issues[0]!.path).toEqual(["n"]);

    const nested = await refusal(lane.add("plain", {}, { then: [{ type: "plain" }, { type: "typed", params: { n: "x" } }] }));
    expect(nested).toBeInstanceOf(ParamsValidationError);
    expect(nested.field).toBe("then[1].params");
    expect(nested.message).toMatch(/^then\[1\]: params of "typed" are invalid/);

    const batch = await refusal(lane.addMany([{ type: "plain" }, { type: "plain", options: { attempts: 0 } }]));
    expect(batch.field).toBe("addMany[1].attempts");
    expect(batch.message).toMatch(/^addMany\[1\] \(plain\): attempts: /);

    // Raised inside the store, which still passes one string: read from its "cursor: " prefix.
    const cursor = await refusal(lane.list({ cursor: "not-a-cursor" }));
    expect(cursor.field).toBe("cursor");
  });

  it("is what the HTTP layer returns as details.field, whatever the message says", () => {
    const named = toErrorResponse(new ValidationError("options.delay", "the delay is too long"));
    expect(named.status).toBe(400);
    expect(named.body.error).toEqual({ code: "VALIDATION_FAILED", message: "the delay is too long", details: { field: "options.delay" } });
    // A message that looks like "field: problem" names no field unless the error carries one.
    const unnamed = toErrorResponse(new ValidationError(null, "delay and runAt: give one or the other, not both"));
    expect(unnamed.body.error.details).toBeUndefined();
  });
});

describe("user errors", () => {
  const useLane = useLanes("sqlite");

  it("are TasklaneErrors of the error table, exported with the others", async () => {
    const lane = await useLane().open();
    await lane.users.add("dana");
    const exists = await refusal(lane.users.add("dana"));
    expect(exists).toBeInstanceOf(UserExistsError);
    expect(exists.code).toBe("USER_EXISTS");
    const missing = await refusal(lane.users.remove("nobody"));
    expect(missing).toBeInstanceOf(UserNotFoundError);
    expect(missing.code).toBe("USER_NOT_FOUND");
  });
});
