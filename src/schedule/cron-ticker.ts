import type { Cron } from "croner";
import type { ScheduleFire, ScheduleRow } from "../model/schedule.js";
import type { TaskRow } from "../model/task-row.js";
import type { NewTask, Store } from "../store/store.js";
import { dueTicks, nextFires, parseCron } from "./cron.js";

export interface CronTickerHooks {
  /** Builds the task of a tick, or null when this node cannot (its type is not registered here). */
  buildTask(schedule: ScheduleRow, tickAt: number): Promise<NewTask | null>;
  onFired(task: TaskRow, schedule: string, tickAt: number): void;
  onError(error: Error, schedule: string | null): void;
}

/**
 * Longest sleep between passes: how soon a schedule added or changed on another node is seen
 * when nothing announces it. Where the store announces schedule changes (PostgreSQL) the ticker
 * is poked at once and sleeps until the next tick, at most `ANNOUNCED_MAX_SLEEP_MS` (a lost
 * announcement, during a reconnect, delays a new schedule by at most that): listing the
 * schedules every second was one of the five transactions a second an idle node cost.
 */
const MAX_SLEEP_MS = 1000;
const ANNOUNCED_MAX_SLEEP_MS = 30_000;

/**
 * Fires due cron ticks on this node. Every node may run one: correctness rests on the store's
 * unique `(schedule, tick)` row written with the task, not on a leader, so racing nodes add one
 * task per tick. Each pass lists the schedules (one query), computes their due ticks from the
 * last fired tick and fires them; then it sleeps until the next tick, or until poked.
 */
export class CronTicker {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private passing: Promise<void> | null = null;
  private readonly parsed = new Map<string, { key: string; job: Cron }>();
  private readonly maxSleepMs: number;

  constructor(
    private readonly store: Store,
    private readonly hooks: CronTickerHooks,
  ) {
    this.maxSleepMs = store.capabilities.dueTimeNotification ? ANNOUNCED_MAX_SLEEP_MS : MAX_SLEEP_MS;
  }

  /** A schedule changed (here or announced by another node): pass again now. */
  poke(): void {
    if (!this.running) return;
    // A pass in progress may have listed the schedules before the change: one more after it.
    if (this.passing) {
      this.pokedDuringPass = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private pokedDuringPass = false;

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.passing;
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.passing = this.pass().finally(() => (this.passing = null));
    }, delayMs);
    this.timer.unref?.();
  }

  private async pass(): Promise<void> {
    let sleep = this.maxSleepMs;
    try {
      const now = await this.store.now();
      const next = await this.fireDue(now);
      if (next !== null) sleep = Math.max(5, Math.min(this.maxSleepMs, next - now));
    } catch (error) {
      this.hooks.onError(error as Error, null);
    }
    if (this.pokedDuringPass) {
      this.pokedDuringPass = false;
      sleep = 0;
    }
    this.schedule(sleep);
  }

  private job(schedule: ScheduleRow): Cron {
    const key = `${schedule.cron}\n${schedule.tz}`;
    const cached = this.parsed.get(schedule.name);
    if (cached && cached.key === key) return cached.job;
    const job = parseCron(schedule.cron, schedule.tz);
    this.parsed.set(schedule.name, { key, job });
    return job;
  }

  /**
   * One pass at the instant `now` (epoch ms of the store clock): fires every due tick of every
   * active schedule. Returns the earliest next tick after `now`, or null. Public so tests can
   * drive it through daylight-saving changes without waiting for them.
   */
  async fireDue(now: number): Promise<number | null> {
    const schedules = await this.store.scheduleList();
    let earliest: number | null = null;
    for (const s of schedules) {
      if (s.paused) continue;
      let job: Cron;
      try {
        job = this.job(s);
      } catch (error) {
        this.hooks.onError(error as Error, s.name);
        continue;
      }
      const after = Math.max(s.anchorAt.getTime(), s.lastTickAt?.getTime() ?? -Infinity);
      const fires: ScheduleFire[] = [];
      for (const tickAt of dueTicks(job, after, now, s.missed)) {
        const task = await this.hooks.buildTask(s, tickAt).catch((error: Error) => {
          this.hooks.onError(error, s.name);
          return null;
        });
        if (task) fires.push({ schedule: s.name, tickAt, task });
      }
      if (fires.length) {
        try {
          for (const fired of await this.store.scheduleFire(fires)) {
            if (fired.task) this.hooks.onFired(fired.task, fired.schedule, fired.tickAt);
          }
        } catch (error) {
          this.hooks.onError(error as Error, s.name);
        }
      }
      const [next] = nextFires(job, now, 1);
      if (next && (earliest === null || next.getTime() < earliest)) earliest = next.getTime();
    }
    const names = new Set(schedules.map((s) => s.name));
    for (const name of this.parsed.keys()) if (!names.has(name)) this.parsed.delete(name);
    return earliest;
  }
}
