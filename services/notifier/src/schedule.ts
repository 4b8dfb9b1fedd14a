/**
 * Digest periods in the operations time zone (VIGIE_TZ): the daily digest
 * at VIGIE_DIGEST_HOUR local time, the weekly one on VIGIE_WEEKLY_DAY at the
 * same hour. A period is named by the local date of its end (`2026-11-23`,
 * weekly `W2026-11-23`): the key of vigie.digests that makes it happen once.
 */

export type Period = 'daily' | 'weekly';

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

export function localParts(date: Date, timeZone: string): LocalParts {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  const out: Record<string, number> = {};
  for (const p of f.formatToParts(date)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { year: out.year ?? 0, month: out.month ?? 1, day: out.day ?? 1, hour: out.hour ?? 0, minute: out.minute ?? 0 };
}

/** The UTC instant of a local wall-clock time (the earlier one on a DST overlap). */
export function zonedTime(year: number, month: number, day: number, hour: number, timeZone: string): Date {
  const guess = Date.UTC(year, month - 1, day, hour);
  let t = guess;
  for (let i = 0; i < 3; i++) {
    const p = localParts(new Date(t), timeZone);
    const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    const diff = asUtc - guess;
    if (diff === 0) break;
    t -= diff;
  }
  return new Date(t);
}

function addDays(p: { year: number; month: number; day: number }, days: number): { year: number; month: number; day: number } {
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The latest period end at or before `now`. `weekday`: 0 = Sunday … 6 = Saturday. */
export function latestBoundary(now: Date, period: Period, opts: { timeZone: string; hour: number; weekday: number }): Date {
  const today = localParts(now, opts.timeZone);
  let day = { year: today.year, month: today.month, day: today.day };
  if (period === 'weekly') {
    const wd = new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay();
    day = addDays(day, -((wd - opts.weekday + 7) % 7));
  }
  let at = zonedTime(day.year, day.month, day.day, opts.hour, opts.timeZone);
  if (at > now) {
    day = addDays(day, period === 'daily' ? -1 : -7);
    at = zonedTime(day.year, day.month, day.day, opts.hour, opts.timeZone);
  }
  return at;
}

/** `2026-11-23` (daily) or `W2026-11-23` (weekly): the local date the period ends on. */
export function periodKey(boundary: Date, period: Period, timeZone: string): string {
  const p = localParts(boundary, timeZone);
  const date = `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
  return period === 'weekly' ? `W${date}` : date;
}

export function periodLengthMs(period: Period): number {
  return (period === 'daily' ? 1 : 7) * 86_400_000;
}

/** The digests due at `now`: the latest period of each kind, if it ended less than `graceMs` ago. */
export function dueDigests(
  now: Date,
  opts: { timeZone: string; hour: number; weekday: number; graceMs: number },
): Array<{ period: Period; periodKey: string; to: Date }> {
  const out: Array<{ period: Period; periodKey: string; to: Date }> = [];
  for (const period of ['daily', 'weekly'] as const) {
    const to = latestBoundary(now, period, opts);
    if (now.getTime() - to.getTime() <= opts.graceMs) out.push({ period, periodKey: periodKey(to, period, opts.timeZone), to });
  }
  return out;
}
