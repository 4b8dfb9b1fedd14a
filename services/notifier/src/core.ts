import type { Lang } from '@vigie/channels';
import type { Logger } from '@vigie/logger';
import type pg from 'pg';
import type { NotifierMetrics } from './metrics.js';
import type { Outbound } from './outbound.js';
import type { RoutingPolicy } from './routing.js';

/** Timings and words of the notifier, from its configuration. */
export interface CoreOptions {
  lang: Lang;
  timeZone: string;
  /** ML_PP's integrity screen. */
  link: string;
  /** Reminder interval while an alert stays OPEN (0 = none). */
  reminderMs: number;
  stormWindowMs: number;
  /** Longest wait between two tries of a transient failure. */
  retryMaxMs: number;
  /** A delivery still failing transiently after this long becomes failed_permanent (gave_up). */
  giveUpMs: number;
  /** Scheduled digests from this deployment (VIGIE_DIGEST_SCHEDULE). */
  digestSchedule: boolean;
  digestHour: number;
  /** 0 = Sunday … 6 = Saturday. */
  weeklyDay: number;
}

/** What every part of the notifier works with. */
export interface NotifierCore {
  pool: pg.Pool;
  out: Outbound;
  policy: RoutingPolicy;
  opts: CoreOptions;
  log: Logger;
  metrics: NotifierMetrics;
  /**
   * Enqueues the flush of a storm group at the end of its window (idempotent per group and tag: no tag for
   * the window's flush, a tag per later update of a grouped message).
   */
  scheduleFlush: (groupId: number, at: Date, tag?: string) => Promise<void>;
}

export interface DbNow {
  now: Date;
}

/** Postgres' clock: every comparison with stored instants uses it, not the host's. */
export async function dbNow(client: pg.ClientBase | pg.Pool): Promise<Date> {
  const { rows } = await client.query<DbNow>('select clock_timestamp() as now');
  return rows[0]?.now ?? new Date();
}

/** Serialises work on one alert across replicas, for the current transaction. */
export async function lockAlert(client: pg.ClientBase, alertId: string): Promise<void> {
  await client.query('select pg_advisory_xact_lock(hashtext($1))', [`vigie:notify:alert:${alertId}`]);
}

/** Serialises storm grouping of one rule across replicas. Taken after an alert's lock, never before. */
export async function lockRule(client: pg.ClientBase, checkCode: string): Promise<void> {
  await client.query('select pg_advisory_xact_lock(hashtext($1))', [`vigie:notify:storm:${checkCode}`]);
}
