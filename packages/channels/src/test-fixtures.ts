import type { AlertView, DigestView, Envelope } from './types.js';

// Shared by this package's tests only (excluded from the build).

export const production: Envelope = { env: 'production', release: 'v1.4.2-3f2a9c1', lang: 'fr', timeZone: 'Africa/Lubumbashi' };
export const staging: Envelope = { ...production, env: 'staging', release: 'rc-8d1e0b7' };

/** 12:05 UTC is 14:05 in Lubumbashi. */
export const detectedAt = new Date('2026-11-23T12:05:00Z');

export function stockAlert(overrides: Partial<AlertView> = {}): AlertView {
  return {
    alertId: '42',
    checkCode: 'STOCK_NEGATIF',
    severity: 'CRITICAL',
    family: 'integrity',
    entityType: 'CITERNE_STOCK',
    entityId: 'c1a0e7d2-0000-4000-8000-000000000001',
    title: 'Stock négatif sur TANK1',
    message: 'Le stock comptable de TANK1 (MONALUXE) est passé sous zéro.',
    where: { depot: 'Dépôt Daipn', citerne: 'TANK1', produit: 'Gasoil/AGO', proprietaire: 'MONALUXE' },
    facts: [
      { label: 'Stock ambiant', value: '-1 180 L' },
      { label: 'Stock à 15 °C', value: '-1 250,0 L' },
      { label: 'Seuil', value: '-0,01 L' },
    ],
    status: 'OPEN',
    firstDetectedAt: detectedAt,
    lastDetectedAt: detectedAt,
    link: 'https://monaluxe.app/governance/integrity',
    ...overrides,
  };
}

export function loginAlert(overrides: Partial<AlertView> = {}): AlertView {
  return {
    alertId: '77',
    checkCode: 'AUTH_BRUTE_FORCE',
    severity: 'CRITICAL',
    family: 'security',
    entityType: 'USER',
    entityId: 'jdoe@monaluxe.app',
    title: 'Rafale de connexions échouées',
    message: '25 échecs de connexion en 5 minutes pour jdoe@monaluxe.app.',
    where: { user: 'jdoe@monaluxe.app', ip: '41.243.10.7' },
    facts: [
      { label: 'Échecs', value: '25' },
      { label: 'Seuil', value: '10 en 5 min' },
    ],
    status: 'OPEN',
    firstDetectedAt: detectedAt,
    lastDetectedAt: detectedAt,
    link: 'https://monaluxe.app/governance/integrity',
    ...overrides,
  };
}

export function dailyDigest(): DigestView {
  const cdr = stockAlert({
    alertId: '43',
    checkCode: 'CDR_ARRIVE_STALE',
    severity: 'WARN',
    entityType: 'CDR',
    title: 'CDR arrivé depuis plus de 2 jours',
    where: { depot: 'Dépôt Daipn' },
  });
  const resolved = stockAlert({
    alertId: '40',
    checkCode: 'STOCK_OVER_CAPACITY',
    where: { depot: 'Dépôt Daipn', citerne: 'TANK5' },
    title: 'Citerne TANK5 au-dessus de sa capacité',
    status: 'RESOLVED',
    resolvedAt: new Date('2026-11-23T16:30:00Z'),
    resolvedBy: null,
  });
  return {
    period: 'daily',
    from: new Date('2026-11-22T22:00:00Z'),
    to: new Date('2026-11-23T22:00:00Z'),
    openBySeverity: { CRITICAL: 2, WARN: 3 },
    opened: [stockAlert(), cdr],
    resolved: [resolved],
    stillOpen: [stockAlert({ status: 'ACK', acknowledgedBy: 'Valery K.', acknowledgedAt: new Date('2026-11-23T12:20:00Z') }), cdr],
    mttdSeconds: 2,
    mttaSeconds: 900,
    mttrSeconds: 7_500,
    byLocation: [
      { depot: 'Dépôt Daipn', citerne: 'TANK1', open: 1, opened: 1, resolved: 0 },
      { depot: 'Dépôt Daipn', citerne: 'TANK5', open: 0, opened: 0, resolved: 1 },
    ],
    link: 'https://monaluxe.app/governance/integrity',
  };
}
