import { describe, expect, it } from 'vitest';
import { dueDigests, latestBoundary, periodKey, zonedTime } from './schedule.js';

const tz = 'Africa/Lubumbashi';
const opts = { timeZone: tz, hour: 7, weekday: 1 };

describe('digest periods in VIGIE_TZ', () => {
  it('puts 07:00 in Lubumbashi at 05:00 UTC', () => {
    expect(zonedTime(2026, 11, 23, 7, tz).toISOString()).toBe('2026-11-23T05:00:00.000Z');
    // DST zones too: 07:00 in Paris is 06:00 UTC in winter, 05:00 UTC in summer.
    expect(zonedTime(2026, 1, 15, 7, 'Europe/Paris').toISOString()).toBe('2026-01-15T06:00:00.000Z');
    expect(zonedTime(2026, 7, 15, 7, 'Europe/Paris').toISOString()).toBe('2026-07-15T05:00:00.000Z');
  });

  it('finds the latest daily end: today after the hour, yesterday before it', () => {
    expect(latestBoundary(new Date('2026-11-23T05:30:00Z'), 'daily', opts).toISOString()).toBe('2026-11-23T05:00:00.000Z');
    expect(latestBoundary(new Date('2026-11-23T04:59:00Z'), 'daily', opts).toISOString()).toBe('2026-11-22T05:00:00.000Z');
    // 23:30 UTC is already the next local day.
    expect(latestBoundary(new Date('2026-11-23T23:30:00Z'), 'daily', opts).toISOString()).toBe('2026-11-23T05:00:00.000Z');
  });

  it('finds the latest weekly end on the configured day (Monday 23/11/2026)', () => {
    expect(latestBoundary(new Date('2026-11-26T10:00:00Z'), 'weekly', opts).toISOString()).toBe('2026-11-23T05:00:00.000Z');
    expect(latestBoundary(new Date('2026-11-23T04:00:00Z'), 'weekly', opts).toISOString()).toBe('2026-11-16T05:00:00.000Z');
  });

  it('names periods by the local date they end on', () => {
    const end = new Date('2026-11-23T05:00:00Z');
    expect(periodKey(end, 'daily', tz)).toBe('2026-11-23');
    expect(periodKey(end, 'weekly', tz)).toBe('W2026-11-23');
  });

  it('is due within the grace period after the hour, not later', () => {
    const grace = 6 * 3_600_000;
    expect(dueDigests(new Date('2026-11-23T05:00:30Z'), { ...opts, graceMs: grace }).map((d) => d.periodKey)).toEqual(['2026-11-23', 'W2026-11-23']);
    expect(dueDigests(new Date('2026-11-24T05:10:00Z'), { ...opts, graceMs: grace }).map((d) => d.periodKey)).toEqual(['2026-11-24']);
    expect(dueDigests(new Date('2026-11-24T15:00:00Z'), { ...opts, graceMs: grace })).toEqual([]);
  });
});
