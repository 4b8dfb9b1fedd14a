import type { Logger } from '@vigie/logger';
import pgListen, { type Subscriber } from 'pg-listen';

// pg-listen is CommonJS with `exports.default`.
const createSubscriber = pgListen.default;

export const OUTBOX_CHANNEL = 'vigie_outbox';

/**
 * The LISTEN connection (pg-listen) on its own direct URL. NOTIFY is only a
 * wake-up: every notification, connect and reconnect triggers a drain.
 * pg-listen's default gives up reconnecting after 3 s; here it never does,
 * with a capped backoff, and a fatal error rebuilds the subscriber.
 */
export class Wakeup {
  private sub: Subscriber | null = null;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  connected = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly onWake: (reason: 'notify' | 'connect') => void,
  ) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const sub = createSubscriber(
      { connectionString: this.url, application_name: 'vigie-listener' },
      {
        parse: (s: string) => s,
        paranoidChecking: 5_000,
        retryLimit: Number.POSITIVE_INFINITY,
        retryTimeout: 0, // 0 = never stop retrying
        retryInterval: (attempt: number) => Math.min(250 * 2 ** attempt, 5_000),
      },
    );
    this.sub = sub;
    sub.notifications.on(OUTBOX_CHANNEL, () => this.onWake('notify'));
    sub.events.on('connected', () => {
      this.connected = true;
      this.log.info('LISTEN connecté');
      this.onWake('connect');
    });
    sub.events.on('reconnect', (attempt: number) => {
      this.connected = false;
      if (attempt === 1 || attempt % 10 === 0) this.log.warn({ attempt }, 'LISTEN : reconnexion');
    });
    sub.events.on('error', (err: Error) => {
      this.connected = false;
      this.log.error({ err }, 'LISTEN : erreur, reconstruction de la connexion');
      this.rebuild();
    });
    try {
      await sub.connect();
      await sub.listenTo(OUTBOX_CHANNEL);
    } catch (err) {
      this.log.warn({ err }, 'LISTEN : connexion impossible, nouvel essai');
      this.rebuild();
    }
  }

  private rebuild(): void {
    const old = this.sub;
    this.sub = null;
    this.connected = false;
    if (old) void old.close().catch(() => undefined);
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.start();
    }, 1_000);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const s = this.sub;
    this.sub = null;
    this.connected = false;
    if (s) await s.close().catch(() => undefined);
  }
}
