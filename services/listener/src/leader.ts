import type { Logger } from '@vigie/logger';
import pg from 'pg';

/**
 * One active listener at a time: the holder of a session-level advisory
 * lock on its own connection. Standbys retry; losing the connection loses
 * the lock, and the next standby takes over.
 */
export class Leadership {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  leader = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly onChange: (leader: boolean) => void,
    private readonly retryMs = 2_000,
  ) {}

  start(): void {
    void this.attempt();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.attempt(), this.retryMs);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.url, application_name: 'vigie-listener-lock' });
        client.on('error', (err) => this.lost(err));
        client.on('end', () => this.lost(new Error('connexion terminée')));
        await client.connect();
        this.client = client;
      }
      const { rows } = await this.client.query<{ ok: boolean }>("select pg_try_advisory_lock(hashtext('vigie:listener')) as ok");
      if (rows[0]?.ok) {
        this.set(true);
        return;
      }
    } catch (err) {
      this.log.warn({ err }, 'verrou de listener actif indisponible, nouvel essai');
      this.dropClient();
    }
    this.schedule();
  }

  private lost(err: Error): void {
    if (this.stopped) return;
    this.log.warn({ err }, 'connexion du verrou perdue');
    this.dropClient();
    this.set(false);
    this.schedule();
  }

  private dropClient(): void {
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      void c.end().catch(() => undefined);
    }
  }

  private set(v: boolean): void {
    if (this.leader === v) return;
    this.leader = v;
    this.log.info({ leader: v }, v ? 'listener actif' : 'listener en attente');
    this.onChange(v);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    this.leader = false;
    if (c) {
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}
