import type pg from 'pg';

/**
 * Maintenance windows (vigie.silences, managed with `vigie silence`): a
 * silence matches an alert by rule code, by entity, or both. A silenced
 * alert is still recorded — in system_alerts, in the transitions and as
 * ledger rows with status `silenced` — only its messages are held back.
 */

export interface ActiveSilence {
  id: number;
  ends_at: Date;
  reason: string;
}

/** The active silence that covers this alert now (the one ending last), if any. */
export async function activeSilence(client: pg.ClientBase, checkCode: string, entityId: string): Promise<ActiveSilence | null> {
  const { rows } = await client.query<ActiveSilence>(
    `select id, ends_at, reason from vigie.silences
      where removed_at is null and starts_at <= clock_timestamp() and ends_at > clock_timestamp()
        and (check_code is null or check_code = $1)
        and (entity_id is null or lower(entity_id) = lower($2))
      order by ends_at desc limit 1`,
    [checkCode, entityId],
  );
  return rows[0] ?? null;
}
