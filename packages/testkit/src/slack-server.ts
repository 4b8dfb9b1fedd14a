import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Slack's Web API, good enough for the real `@slack/web-api`
 * WebClient pointed at it through `slackApiUrl`. It keeps the messages it was sent
 * (with their updates and thread replies) so tests can assert what people would see,
 * and it can be told to fail the way Slack fails: 429 with Retry-After, 5xx, platform
 * errors, dropped connections, or a whole outage window.
 */

/** One way of failing a call. */
export type SlackFault =
  | { status: 429; retryAfter?: number }
  | { status: 500 | 502 | 503 | 504 }
  | { error: string }
  | { reset: true };

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  at: Date;
  /** What the server answered: HTTP status, and the Slack error when `ok` was false. */
  status: number;
  ok: boolean;
  error?: string;
}

export interface SlackReply {
  ts: string;
  text: string;
  blocks: unknown[];
}

export interface SlackMessage extends SlackReply {
  channel: string;
  /** How many times chat.update changed it. */
  updates: number;
  replies: SlackReply[];
}

export interface SlackServerOptions {
  /** The only bearer token the server accepts. */
  token?: string;
}

export interface SlackServer {
  /** Base URL to give WebClient as `slackApiUrl`, e.g. `http://127.0.0.1:PORT/api/`. */
  readonly apiUrl: string;
  readonly token: string;
  readonly calls: readonly SlackCall[];
  /** Fail the next `count` calls with `fault`. */
  failNext(count: number, fault: SlackFault): void;
  /** Fail every call with this Slack platform error until cleared with `null`. */
  failWith(error: string | null): void;
  /** Fail every call with `fault` for the next `ms` milliseconds. */
  setOutage(ms: number, fault?: SlackFault): void;
  clearFaults(): void;
  /** Top-level messages of a channel in posting order, as they look now. */
  messages(channel: string): SlackMessage[];
  /** Resolves once at least `count` calls (of `method`, when given) were received. */
  waitForCalls(count: number, options?: { timeoutMs?: number; method?: string }): Promise<SlackCall[]>;
  close(): Promise<void>;
}

const JSON_ARGS = new Set(['blocks', 'attachments', 'metadata']);
const BOT_USER_ID = 'U0VIGIEBOT';

export async function startSlackServer(options: SlackServerOptions = {}): Promise<SlackServer> {
  const token = options.token ?? 'xoxb-vigie-test';
  const calls: SlackCall[] = [];
  const byChannel = new Map<string, SlackMessage[]>();
  const waiters = new Set<() => void>();
  let queued: SlackFault[] = [];
  let persistentError: string | null = null;
  let outage: { until: number; fault: SlackFault } | null = null;
  let tsCounter = 0;

  const nextTs = (): string => {
    tsCounter += 100;
    const seconds = 1_700_000_000 + Math.floor(tsCounter / 1_000_000);
    return `${seconds}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
  };

  const record = (call: SlackCall): void => {
    calls.push(call);
    for (const check of waiters) check();
  };

  const currentFault = (): SlackFault | null => {
    if (outage && Date.now() < outage.until) return outage.fault;
    outage = null;
    const next = queued.shift();
    if (next) return next;
    return persistentError ? { error: persistentError } : null;
  };

  const findMessage = (channel: string, ts: string): SlackMessage | undefined =>
    byChannel.get(channel)?.find((m) => m.ts === ts);

  const handlers: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    'auth.test': () => ({
      url: 'http://127.0.0.1/',
      team: 'Vigie Test',
      user: 'vigie',
      team_id: 'T0VIGIE',
      user_id: BOT_USER_ID,
      bot_id: 'B0VIGIE',
    }),
    'conversations.info': (args) => {
      const channel = stringArg(args, 'channel');
      if (!channel) throw new PlatformError('channel_not_found');
      return { channel: { id: channel, name: channel, is_channel: true, is_member: true } };
    },
    'chat.postMessage': (args) => {
      const channel = stringArg(args, 'channel');
      if (!channel) throw new PlatformError('channel_not_found');
      const { text, blocks } = content(args);
      const threadTs = stringArg(args, 'thread_ts');
      const ts = nextTs();
      if (threadTs) {
        const parent = findMessage(channel, threadTs);
        if (!parent) throw new PlatformError('thread_not_found');
        parent.replies.push({ ts, text, blocks });
      } else {
        const list = byChannel.get(channel) ?? [];
        list.push({ channel, ts, text, blocks, updates: 0, replies: [] });
        byChannel.set(channel, list);
      }
      return {
        channel,
        ts,
        message: { type: 'message', user: BOT_USER_ID, ts, text, blocks, ...(threadTs ? { thread_ts: threadTs } : {}) },
      };
    },
    'chat.update': (args) => {
      const channel = stringArg(args, 'channel');
      const ts = stringArg(args, 'ts');
      if (!channel) throw new PlatformError('channel_not_found');
      const message = ts ? findMessage(channel, ts) : undefined;
      if (!message) throw new PlatformError('message_not_found');
      const { text, blocks } = content(args);
      message.text = text;
      message.blocks = blocks;
      message.updates += 1;
      return { channel, ts: message.ts, text, message: { type: 'message', user: BOT_USER_ID, text, blocks } };
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const args = parseBody(await readBody(req), req.headers['content-type']);
    const at = new Date();
    const send = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      const error = typeof body.error === 'string' ? body.error : undefined;
      record({ method, args, at, status, ok: body.ok === true, ...(error ? { error } : {}) });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? stringArg(args, 'token');
    if (bearer !== token) return send(200, { ok: false, error: bearer ? 'invalid_auth' : 'not_authed' });

    const fault = currentFault();
    if (fault && 'reset' in fault) {
      record({ method, args, at, status: 0, ok: false, error: 'connection_reset' });
      req.socket.destroy();
      return;
    }
    if (fault && 'status' in fault && fault.status === 429) {
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter ?? 1) });
    }
    if (fault && 'status' in fault) return send(fault.status, { ok: false, error: 'internal_error' });
    if (fault) return send(200, { ok: false, error: fault.error });

    const handler = handlers[method];
    if (!handler) return send(200, { ok: false, error: 'unknown_method' });
    try {
      send(200, { ok: true, ...handler(args) });
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      send(200, { ok: false, error: error.slackError });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : String(error));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    token,
    calls,
    failNext(count, fault) {
      for (let i = 0; i < count; i += 1) queued.push(fault);
    },
    failWith(error) {
      persistentError = error;
    },
    setOutage(ms, fault = { status: 503 }) {
      outage = { until: Date.now() + ms, fault };
    },
    clearFaults() {
      queued = [];
      persistentError = null;
      outage = null;
    },
    messages(channel) {
      return structuredClone(byChannel.get(channel) ?? []);
    },
    waitForCalls(count, { timeoutMs = 5_000, method } = {}) {
      const matching = (): SlackCall[] => (method ? calls.filter((c) => c.method === method) : [...calls]);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = matching();
          if (found.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const what = method ? `${method} calls` : 'calls';
          reject(new Error(`Slack test server: expected ${count} ${what} within ${timeoutMs} ms, got ${matching().length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

class PlatformError extends Error {
  constructor(readonly slackError: string) {
    super(slackError);
  }
}

function stringArg(args: Record<string, unknown>, key: string): string | undefined {
  const value = args[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function content(args: Record<string, unknown>): { text: string; blocks: unknown[] } {
  const text = stringArg(args, 'text') ?? '';
  const blocks = Array.isArray(args.blocks) ? args.blocks : [];
  if (!text && blocks.length === 0) throw new PlatformError('no_text');
  return { text, blocks };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** WebClient posts form-urlencoded with JSON-encoded structured fields; others post JSON. */
function parseBody(body: string, contentType: string | undefined): Record<string, unknown> {
  if (body === '') return {};
  if (contentType?.startsWith('application/json')) {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  }
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    args[key] = JSON_ARGS.has(key) ? parseJsonOr(value) : value;
  }
  return args;
}

function parseJsonOr(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
