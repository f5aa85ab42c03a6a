import { AsyncLocalStorage } from "node:async_hooks";
import { inspect } from "node:util";
import type { TaskDefinition } from "../model/options.js";
import type { RunInvoker, Settled } from "./run-executor.js";

/**
 * On the node's own event loop (`isolation: "none"`), an exception thrown in a handler's timer
 * or a promise it left unhandled reaches the process as `uncaughtException`, which by default
 * ends the node and every run on it. Each inline run is given an async scope, so the exception
 * can be traced to the run whose code raised it (Node keeps the scope of the failing callback,
 * timers and promises included) and fail that run alone.
 */

interface CrashSink {
  type: string;
  /** False once the run has ended: a late crash then has no run to fail. */
  open: boolean;
  fail(error: Error): void;
}

const scope = new AsyncLocalStorage<CrashSink>();

/** Handlers on the node's event loop, each in a scope its crashes can be traced to. */
export const scopedInlineInvoker: RunInvoker = {
  invoke(def: TaskDefinition, _run, ctx) {
    let giveUp!: () => void;
    const settled = new Promise<Settled>((resolve) => {
      const sink: CrashSink = {
        type: def.name,
        open: true,
        fail: (error) => resolve({ ok: false, error }),
      };
      const end = (value: Settled) => {
        sink.open = false;
        resolve(value);
      };
      let handlerPromise: Promise<unknown>;
      try {
        handlerPromise = Promise.resolve(scope.run(sink, () => def.run(ctx)));
      } catch (error) {
        handlerPromise = Promise.reject(error);
      }
      handlerPromise.then(
        (value) => end({ ok: true, value }),
        (error: unknown) => end({ ok: false, error }),
      );
      giveUp = () => end({ ok: false, abandoned: true });
    });
    return { settled, giveUp };
  },
};

/**
 * Listens for uncaught exceptions (and unhandled rejections, which Node raises as such): one
 * traced to a running handler fails that run; one traced to a handler whose run has ended is
 * reported through `onLate`; any other is left to the application's own listeners, or, if it
 * has none, ends the process as Node would. Returns the function that stops listening.
 */
export function containHandlerCrashes(onLate: (error: Error, type: string) => void): () => void {
  const listener = (error: Error, origin: string) => {
    const sink = scope.getStore();
    const what = origin === "unhandledRejection" ? "unhandled rejection" : "uncaught exception";
    if (sink) {
      const made = new Error(`${what}: ${error?.name ?? "Error"}: ${error?.message ?? String(error)}`);
      made.name = "HandlerCrashError";
      if (error?.stack) made.stack = error.stack;
      if (sink.open) sink.fail(made);
      else onLate(made, sink.type);
      return;
    }
    if (process.listenerCount("uncaughtException") > 1) return;
    // Nobody else handles it: what Node does without a listener.
    process.stderr.write(`${inspect(error)}\n`);
    process.exit(1);
  };
  process.on("uncaughtException", listener);
  return () => process.off("uncaughtException", listener);
}
