import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { alertText, transitionText } from './render.js';
import { createSinkChannel } from './sink.js';
import { dailyDigest, production, staging, stockAlert } from './test-fixtures.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigie-sink-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function jsonLines(file: string, from = dir): Promise<Array<Record<string, unknown>>> {
  const content = await readFile(join(from, file), 'utf8');
  return content
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('local sink', () => {
  it('records Slack messages as JSON lines and writes their French text to alerts.log', async () => {
    // The directory does not exist yet: the sink creates it.
    const target = join(dir, 'sink', 'nested');
    const sink = createSinkChannel({ dir: target, console: false });
    const posted = await sink.postAlert('C-OPS', stockAlert(), staging);
    const acked = stockAlert({ status: 'ACK', acknowledgedBy: 'Valery K.', acknowledgedAt: new Date('2026-11-23T12:20:00Z') });
    const updated = await sink.updateAlert(posted.channel, posted.ts, acked, staging);
    const reply = await sink.replyInThread(posted.channel, posted.ts, transitionText('acknowledged', acked, staging));

    expect(posted.channel).toBe('C-OPS');
    expect(updated.ts).toBe(posted.ts);
    expect(reply.ts).not.toBe(posted.ts);
    const lines = await jsonLines('slack.jsonl', target);
    expect(lines.map((l) => l.method)).toEqual(['postAlert', 'updateAlert', 'replyInThread']);
    expect(lines[0]).toMatchObject({
      channel: 'C-OPS',
      ts: posted.ts,
      alertId: '42',
      checkCode: 'STOCK_NEGATIF',
      env: 'staging',
      release: 'rc-8d1e0b7',
      text: alertText(stockAlert(), staging),
    });
    expect(lines[2]).toMatchObject({ threadTs: posted.ts, text: '👀 Pris en charge par Valery K. le 23/11/2026 14:20 (Africa/Lubumbashi)' });

    const log = await readFile(join(target, 'alerts.log'), 'utf8');
    expect(log).toContain('[STAGING] 🔴 CRITIQUE · STOCK_NEGATIF — Stock négatif sur TANK1');
    expect(log).toContain('Citerne : TANK1');
    expect(log).toContain('Statut : 👀 Pris en charge par Valery K.');
    expect(log).toContain('· slack C-OPS · replyInThread ===');
  });

  it('records mail with subject and recipients, and prints to stdout when asked', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const logged: Array<Record<string, unknown>> = [];
    const sink = createSinkChannel({ dir, console: true, logger: { info: (fields) => logged.push(fields) } });

    const sent = await sink.sendAlert(['directeur@monaluxe.app'], stockAlert(), production, 'opened');
    await sink.sendDigest(['directeur@monaluxe.app'], dailyDigest(), production);

    expect(sent.accepted).toEqual(['directeur@monaluxe.app']);
    expect(sent.rejected).toEqual([]);
    const lines = await jsonLines('email.jsonl');
    expect(lines[0]).toMatchObject({
      method: 'sendAlert',
      to: ['directeur@monaluxe.app'],
      subject: '[CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      messageId: sent.messageId,
      transition: 'opened',
    });
    expect(lines[1]).toMatchObject({
      method: 'sendDigest',
      subject: 'Vigie — Synthèse quotidienne — 23/11/2026 — Alertes ouvertes : 2 critiques, 3 avertissements',
    });
    expect(String(lines[1]?.text)).toContain('Délai moyen de résolution (MTTR) : 2 h 05 min');

    const out = printed.join('');
    expect(out).toContain('email → directeur@monaluxe.app · sendAlert');
    expect(out).toContain('Première détection : 23/11/2026 14:05 (Africa/Lubumbashi)');
    expect(out).toContain('Par emplacement');
    expect(out).toBe(await readFile(join(dir, 'alerts.log'), 'utf8'));
    expect(logged.map((f) => f.method)).toEqual(['sendAlert', 'sendDigest']);
  });

  it('stays quiet on stdout unless asked', async () => {
    const write = vi.spyOn(process.stdout, 'write');
    const sink = createSinkChannel({ dir, console: false });
    await sink.postDigestSummary(undefined, dailyDigest(), production);
    expect(write).not.toHaveBeenCalled();
    expect((await jsonLines('slack.jsonl'))[0]).toMatchObject({ method: 'postDigestSummary', channel: 'sink', period: 'daily' });
  });
});
