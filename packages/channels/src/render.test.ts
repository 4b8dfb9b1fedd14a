import { describe, expect, it } from 'vitest';
import {
  alertSubject,
  alertText,
  describeAlert,
  digestSubject,
  formatDate,
  formatDateTime,
  formatDuration,
  transitionText,
} from './render.js';
import { dailyDigest, loginAlert, production, stockAlert } from './test-fixtures.js';
import type { Envelope } from './types.js';

const english: Envelope = { ...production, lang: 'en' };

describe('dates and durations', () => {
  it('shows dates in the operations time zone', () => {
    const at = new Date('2026-11-23T22:30:00Z');
    expect(formatDateTime(at, 'Africa/Lubumbashi', 'fr')).toBe('24/11/2026 00:30 (Africa/Lubumbashi)');
    expect(formatDateTime(at, 'UTC', 'fr')).toBe('23/11/2026 22:30 (UTC)');
    expect(formatDateTime(at, 'Africa/Lubumbashi', 'en')).toBe('2026-11-24 00:30 (Africa/Lubumbashi)');
    expect(formatDate(at, 'Africa/Kinshasa', 'fr')).toBe('23/11/2026');
  });

  it('formats durations the way people say them', () => {
    expect(formatDuration(0, 'fr')).toBe('0 s');
    expect(formatDuration(45, 'fr')).toBe('45 s');
    expect(formatDuration(12 * 60 + 10, 'fr')).toBe('12 min');
    expect(formatDuration(3_600, 'fr')).toBe('1 h');
    expect(formatDuration(2 * 3_600 + 5 * 60, 'fr')).toBe('2 h 05 min');
    expect(formatDuration(27 * 3_600, 'fr')).toBe('1 j 3 h');
    expect(formatDuration(48 * 3_600, 'en')).toBe('2 d');
    expect(formatDuration(-5, 'en')).toBe('0 s');
  });
});

describe('alert rendering', () => {
  it('gives each transition its subject tag', () => {
    const subjects = (['opened', 'reopened', 'acknowledged', 'resolved', 'reminder'] as const).map((kind) =>
      alertSubject(stockAlert(), production, kind),
    );
    expect(subjects).toEqual([
      '[CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[ROUVERT] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[PRIS EN CHARGE] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[RÉSOLU] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
      '[RAPPEL] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
    ]);
    expect(alertSubject(stockAlert({ severity: 'WARN' }), { ...production, env: 'local' }, 'opened')).toBe(
      '[LOCAL] [AVERTISSEMENT] STOCK_NEGATIF — TANK1 (Dépôt Daipn)',
    );
  });

  it('names the place by tank and depot, by user and address, or by entity', () => {
    expect(alertSubject(loginAlert(), production, 'opened')).toBe('[CRITIQUE] AUTH_BRUTE_FORCE — jdoe@monaluxe.app (41.243.10.7)');
    const bare = stockAlert({ where: {}, entityType: 'CDR', entityId: 'cdr-9' });
    expect(alertSubject(bare, production, 'opened')).toBe('[CRITIQUE] STOCK_NEGATIF — CDR cdr-9');
    expect(describeAlert(bare, production).where).toEqual([{ label: 'Entité', value: 'CDR cdr-9' }]);
  });

  it('shows the last detection only when it differs from the first', () => {
    const later = stockAlert({ lastDetectedAt: new Date('2026-11-23T15:00:00Z') });
    expect(alertText(later, production)).toContain('Dernière détection : 23/11/2026 17:00 (Africa/Lubumbashi)');
    expect(alertText(stockAlert(), production)).not.toContain('Dernière détection');
  });

  it('tells transitions in a thread', () => {
    expect(transitionText('resolved', stockAlert({ resolvedBy: null, resolvedAt: null }), production)).toBe('✅ Résolu automatiquement');
    expect(transitionText('reopened', stockAlert(), production)).toBe(
      '🔁 Alerte rouverte : le problème est de nouveau détecté le 23/11/2026 14:05 (Africa/Lubumbashi)',
    );
    expect(transitionText('reminder', stockAlert(), english)).toBe(
      '⏰ Reminder: alert still open (first detected on 2026-11-23 14:05 (Africa/Lubumbashi))',
    );
  });

  it('renders the whole alert in English', () => {
    const text = alertText(stockAlert({ status: 'RESOLVED', resolvedBy: null, resolvedAt: new Date('2026-11-23T14:10:00Z') }), english, 'resolved');
    expect(text.split('\n')).toEqual([
      '🔴 CRITICAL · STOCK_NEGATIF — Stock négatif sur TANK1',
      'Alert resolved',
      'Status: ✅ Resolved automatically on 2026-11-23 16:10 (Africa/Lubumbashi)',
      '',
      'Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.',
      '',
      'Depot: Dépôt Daipn',
      'Tank: TANK1',
      'Product: Gasoil/AGO',
      'Owner: MONALUXE',
      'Stock ambiant: -1 180 L',
      'Stock à 15 °C: -1 250,0 L',
      'Seuil: -0,01 L',
      'First detected: 2026-11-23 14:05 (Africa/Lubumbashi)',
      '',
      'Open the integrity screen: https://monaluxe.app/governance/integrity',
      '',
      '— Vigie · env production · release v1.4.2-3f2a9c1 · alert 42',
    ]);
  });
});

describe('digest rendering', () => {
  it('names a daily digest after its last day, even when it ends at midnight', () => {
    expect(digestSubject(dailyDigest(), production)).toBe(
      'Vigie — Synthèse quotidienne — 23/11/2026 — Alertes ouvertes : 2 critiques, 3 avertissements',
    );
    const quiet = { ...dailyDigest(), openBySeverity: { CRITICAL: 0, WARN: 1 } };
    expect(digestSubject(quiet, english)).toBe('Vigie — Daily summary — 2026-11-23 — Open alerts: 0 critical, 1 warning');
  });
});
