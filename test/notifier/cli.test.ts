import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '@vigie/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, MANAGERS } from './support.js';

// `vigie silence` and `vigie digest --now`, as the engineer on call types them
// (connected as vigie_app, the services' least-privilege role).

const h = new Harness();

beforeAll(async () => {
  await h.setup();
});
afterAll(() => h.teardown());

async function vigie(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { ...h.env(), USER: 'valery', ...env }, { out: (l = '') => out.push(l), err: (l = '') => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('vigie silence', () => {
  it('adds, lists and removes a maintenance silence, in French', async () => {
    const added = await vigie(['silence', 'add', '--rule', 'STOCK_OVER_CAPACITY', '--for', '2h', '--reason', 'Étalonnage de TANK5']);
    expect(added.err).toBe('');
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/^Silence n° (\d+) créé : règle STOCK_OVER_CAPACITY, entité —, jusqu'au \d\d\/\d\d\/\d{4} \d\d:\d\d \(Africa\/Lubumbashi\) — raison : Étalonnage de TANK5$/m);
    expect(added.out).toContain('Les alertes concernées restent enregistrées');
    const id = /n° (\d+)/.exec(added.out)?.[1];

    const entity = await vigie(['silence', 'add', '--entity', '7D1E0B70-1111-4000-8000-00000000ABCD', '--for', '1h30m', '--reason', 'Vidange', '--by', 'Jean']);
    expect(entity.code).toBe(0);

    const listed = await vigie(['silence', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.out.split('\n')[0]).toMatch(/^N°\s+Règle\s+Entité\s+Jusqu'au\s+Raison\s+Par\s+État$/);
    expect(listed.out).toMatch(new RegExp(`${id}\\s+STOCK_OVER_CAPACITY\\s+—\\s+.*Étalonnage de TANK5\\s+valery\\s+actif`));
    expect(listed.out).toMatch(/—\s+7d1e0b70-1111-4000-8000-00000000abcd\s+.*Vidange\s+Jean\s+actif/);

    const removed = await vigie(['silence', 'remove', String(id)]);
    expect(removed).toMatchObject({ code: 0, out: `Silence n° ${id} levé : les messages reprennent pour les alertes qu'il couvrait.` });
    expect((await vigie(['silence', 'list'])).out).not.toContain('Étalonnage');
    expect((await vigie(['silence', 'list', '--all'])).out).toMatch(/Étalonnage de TANK5\s+valery\s+levé par valery/);
    expect((await vigie(['silence', 'remove', String(id)])).code).toBe(1);
  });

  it('refuses bad input with the usage', async () => {
    const noReason = await vigie(['silence', 'add', '--rule', 'STOCK_NEGATIF', '--for', '2h']);
    expect(noReason.code).toBe(2);
    expect(noReason.err).toContain('--reason "…" requis');
    const badDuration = await vigie(['silence', 'add', '--rule', 'STOCK_NEGATIF', '--for', 'deux heures', '--reason', 'x']);
    expect(badDuration.code).toBe(2);
    expect(badDuration.err).toContain('durée invalide « deux heures »');
    const nothing = await vigie(['silence', 'add', '--for', '2h', '--reason', 'x']);
    expect(nothing.err).toContain('--rule CODE et/ou --entity UUID requis');
  });
});

describe('vigie digest --now', () => {
  it('sends the digest by email to the managers and says what it sent', async () => {
    await h.openAlert({ payload: { depot: 'Dépôt Daipn', citerne: 'TANK3' } });
    const r = await vigie(['digest', '--now']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Synthèse quotidienne n° \d+ \(du .* au .*\)$/m);
    expect(r.out).toContain('ouvertes : 1 critique(s), 0 avertissement(s) · nouvelles : 1 · résolues : 0');
    for (const to of MANAGERS) expect(r.out).toContain(`✉ ${to} : envoyé`);
    const mails = await h.smtp.waitForMails(MANAGERS.length);
    expect(mails.map((m) => m.envelope.to[0]).sort()).toEqual([...MANAGERS].sort());
    expect(mails[0]?.subject).toMatch(/^\[LOCAL\] Vigie — Synthèse quotidienne — \d\d\/\d\d\/\d{4} — Alertes ouvertes : 1 critique, 0 avertissement$/);
    expect(mails[0]?.text).toContain('TANK3 (Dépôt Daipn)');
  });

  it('writes to the local sink on a machine without SMTP or Slack', async () => {
    const sink = join(h.tmp, 'cli-sink');
    const r = await vigie(['digest', '--now', '--period', 'weekly'], { SMTP_URL: '', SLACK_BOT_TOKEN: '', MAIL_DIRECTEUR: '', VIGIE_SINK_DIR: sink });
    expect(r.code).toBe(0);
    expect(r.out).toContain('Synthèse hebdomadaire');
    expect(r.out).toContain('✉ directeur@vigie.local : envoyé');
    expect(r.out).toContain(`puits local : ${sink}`);
    const lines = readFileSync(join(sink, 'email.jsonl'), 'utf8').trim().split('\n');
    const entry = JSON.parse(lines[0] ?? '{}') as { to: string[]; subject: string; text: string };
    expect(entry.to).toEqual(['directeur@vigie.local']);
    expect(entry.subject).toContain('Synthèse hebdomadaire');
    expect(readFileSync(join(sink, 'alerts.log'), 'utf8')).toContain('Alertes ouvertes : 1 critique, 0 avertissement');
  });

  it('asks for --now', async () => {
    const r = await vigie(['digest']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--now requis');
  });
});
