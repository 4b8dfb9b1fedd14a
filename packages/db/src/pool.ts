import pg from 'pg';

// Postgres `numeric` and `bigint` come back as JS numbers: volumes are far below 2^53.
pg.types.setTypeParser(1700, (v) => Number.parseFloat(v));
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export interface PoolOptions {
  max?: number;
  applicationName: string;
  /** Per-statement timeout in ms (0 = none). */
  statementTimeoutMs?: number;
}

/** A pg pool whose errors on idle clients are reported instead of crashing the process. */
export function createPool(connectionString: string, opts: PoolOptions, onError?: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  pool.on('error', (err) => onError?.(err));
  return pool;
}

/** Runs `fn` inside a transaction on one client of the pool. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const out = await fn(client);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
