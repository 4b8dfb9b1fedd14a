import type {
  AlertView,
  AlertWhere,
  AppEnv,
  DigestView,
  Envelope,
  Lang,
  Severity,
  TransitionKind,
} from './types.js';

/**
 * Everything people read, in one place: the label catalogue (French by default,
 * English by option), dates in the operations time zone, durations, and the
 * description of an alert or a digest that every adapter lays out its own way
 * (Slack blocks, email HTML, plain text). Adapters never pick words themselves.
 */

export interface Row {
  label: string;
  value: string;
}

interface Catalogue {
  colon: string;
  severity: Record<Severity, string>;
  where: Record<keyof AlertWhere, string>;
  entity: string;
  status: string;
  open: string;
  acknowledged: (by: string | null | undefined) => string;
  resolved: (by: string | null | undefined) => string;
  on: string;
  transition: Record<TransitionKind, string>;
  subjectTag: Record<TransitionKind, string | null>;
  firstDetected: string;
  lastDetected: string;
  openScreen: string;
  alert: string;
  banner: Record<Exclude<AppEnv, 'production'>, string>;
  units: { day: string; hour: string; minute: string; second: string };
  dateOrder: 'dmy' | 'ymd';
  digest: {
    title: Record<DigestView['period'], string>;
    period: (from: string, to: string) => string;
    openNow: string;
    critical: (n: number) => string;
    warn: (n: number) => string;
    opened: string;
    resolvedCount: string;
    timings: { mttd: string; mtta: string; mttr: string };
    notMeasured: string;
    openedSection: string;
    resolvedSection: string;
    stillOpenSection: string;
    byLocation: string;
    none: string;
    columns: { severity: string; rule: string; place: string; title: string; detected: string; resolvedAt: string };
    locationColumns: [string, string, string, string, string];
  };
}

const fr: Catalogue = {
  colon: ' : ',
  severity: { CRITICAL: 'CRITIQUE', WARN: 'AVERTISSEMENT' },
  where: {
    depot: 'Dépôt',
    citerne: 'Citerne',
    produit: 'Produit',
    proprietaire: 'Propriétaire',
    user: 'Utilisateur',
    ip: 'Adresse IP',
  },
  entity: 'Entité',
  status: 'Statut',
  open: '🔔 Ouvert, en attente de prise en charge',
  acknowledged: (by) => (by ? `👀 Pris en charge par ${by}` : '👀 Pris en charge'),
  resolved: (by) => (by ? `✅ Résolu par ${by}` : '✅ Résolu automatiquement'),
  on: 'le',
  transition: {
    opened: 'Nouvelle alerte',
    reopened: '🔁 Alerte rouverte : le problème est de nouveau détecté',
    acknowledged: 'Alerte prise en charge',
    resolved: 'Alerte résolue',
    reminder: '⏰ Rappel : alerte toujours ouverte',
  },
  subjectTag: { opened: null, reopened: 'ROUVERT', acknowledged: 'PRIS EN CHARGE', resolved: 'RÉSOLU', reminder: 'RAPPEL' },
  firstDetected: 'Première détection',
  lastDetected: 'Dernière détection',
  openScreen: "Ouvrir l'écran d'intégrité",
  alert: 'alerte',
  banner: {
    staging: "⚠️ STAGING — environnement de recette, ce n'est pas la production",
    local: "⚠️ LOCAL — poste de développement, ce n'est pas la production",
  },
  units: { day: 'j', hour: 'h', minute: 'min', second: 's' },
  dateOrder: 'dmy',
  digest: {
    title: { daily: 'Synthèse quotidienne', weekly: 'Synthèse hebdomadaire' },
    period: (from, to) => `du ${from} au ${to}`,
    openNow: 'Alertes ouvertes',
    critical: (n) => `${n} ${n > 1 ? 'critiques' : 'critique'}`,
    warn: (n) => `${n} ${n > 1 ? 'avertissements' : 'avertissement'}`,
    opened: 'Nouvelles',
    resolvedCount: 'Résolues',
    timings: {
      mttd: 'Délai moyen de détection (MTTD)',
      mtta: 'Délai moyen de prise en charge (MTTA)',
      mttr: 'Délai moyen de résolution (MTTR)',
    },
    notMeasured: '—',
    openedSection: 'Ouvertes pendant la période',
    resolvedSection: 'Résolues pendant la période',
    stillOpenSection: 'Toujours ouvertes',
    byLocation: 'Par emplacement',
    none: 'Aucune',
    columns: {
      severity: 'Sévérité',
      rule: 'Règle',
      place: 'Emplacement',
      title: 'Alerte',
      detected: 'Première détection',
      resolvedAt: 'Résolue le',
    },
    locationColumns: ['Dépôt', 'Citerne', 'Ouvertes', 'Nouvelles', 'Résolues'],
  },
};

const en: Catalogue = {
  colon: ': ',
  severity: { CRITICAL: 'CRITICAL', WARN: 'WARNING' },
  where: { depot: 'Depot', citerne: 'Tank', produit: 'Product', proprietaire: 'Owner', user: 'User', ip: 'IP address' },
  entity: 'Entity',
  status: 'Status',
  open: '🔔 Open, awaiting acknowledgement',
  acknowledged: (by) => (by ? `👀 Acknowledged by ${by}` : '👀 Acknowledged'),
  resolved: (by) => (by ? `✅ Resolved by ${by}` : '✅ Resolved automatically'),
  on: 'on',
  transition: {
    opened: 'New alert',
    reopened: '🔁 Alert reopened: the problem is detected again',
    acknowledged: 'Alert acknowledged',
    resolved: 'Alert resolved',
    reminder: '⏰ Reminder: alert still open',
  },
  subjectTag: { opened: null, reopened: 'REOPENED', acknowledged: 'ACKNOWLEDGED', resolved: 'RESOLVED', reminder: 'REMINDER' },
  firstDetected: 'First detected',
  lastDetected: 'Last detected',
  openScreen: 'Open the integrity screen',
  alert: 'alert',
  banner: {
    staging: '⚠️ STAGING — test environment, not production',
    local: '⚠️ LOCAL — development machine, not production',
  },
  units: { day: 'd', hour: 'h', minute: 'min', second: 's' },
  dateOrder: 'ymd',
  digest: {
    title: { daily: 'Daily summary', weekly: 'Weekly summary' },
    period: (from, to) => `from ${from} to ${to}`,
    openNow: 'Open alerts',
    critical: (n) => `${n} critical`,
    warn: (n) => `${n} ${n === 1 ? 'warning' : 'warnings'}`,
    opened: 'Opened',
    resolvedCount: 'Resolved',
    timings: {
      mttd: 'Mean time to detect (MTTD)',
      mtta: 'Mean time to acknowledge (MTTA)',
      mttr: 'Mean time to resolve (MTTR)',
    },
    notMeasured: '—',
    openedSection: 'Opened during the period',
    resolvedSection: 'Resolved during the period',
    stillOpenSection: 'Still open',
    byLocation: 'By location',
    none: 'None',
    columns: {
      severity: 'Severity',
      rule: 'Rule',
      place: 'Location',
      title: 'Alert',
      detected: 'First detected',
      resolvedAt: 'Resolved on',
    },
    locationColumns: ['Depot', 'Tank', 'Open', 'Opened', 'Resolved'],
  },
};

const catalogues: Record<Lang, Catalogue> = { fr, en };

const SEVERITY_EMOJI: Record<Severity, string> = { CRITICAL: '🔴', WARN: '🟠' };

const WHERE_ORDER: Record<AlertView['family'], Array<keyof AlertWhere>> = {
  integrity: ['depot', 'citerne', 'produit', 'proprietaire', 'user', 'ip'],
  security: ['user', 'ip', 'depot', 'citerne', 'produit', 'proprietaire'],
};

// ---------------------------------------------------------------------------
// Dates and durations

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateParts(date: Date, timeZone: string): Record<'year' | 'month' | 'day' | 'hour' | 'minute', string> {
  let format = dateFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    dateFormats.set(timeZone, format);
  }
  const parts = { year: '', month: '', day: '', hour: '', minute: '' };
  for (const part of format.formatToParts(date)) {
    if (part.type in parts) parts[part.type as keyof typeof parts] = part.value;
  }
  return parts;
}

/** `23/11/2026` (fr) or `2026-11-23` (en), in `timeZone`. */
export function formatDate(date: Date, timeZone: string, lang: Lang): string {
  const { year, month, day } = dateParts(date, timeZone);
  return catalogues[lang].dateOrder === 'dmy' ? `${day}/${month}/${year}` : `${year}-${month}-${day}`;
}

/** `23/11/2026 14:05 (Africa/Lubumbashi)` (fr) or `2026-11-23 14:05 (Africa/Lubumbashi)` (en). */
export function formatDateTime(date: Date, timeZone: string, lang: Lang): string {
  const { hour, minute } = dateParts(date, timeZone);
  return `${formatDate(date, timeZone, lang)} ${hour}:${minute} (${timeZone})`;
}

/** `45 s`, `12 min`, `2 h 05 min`, `3 j 4 h` (fr) / `3 d 4 h` (en). */
export function formatDuration(seconds: number, lang: Lang): string {
  const u = catalogues[lang].units;
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) return `${total} ${u.second}`;
  const minutes = Math.round(total / 60);
  if (minutes < 60) return `${minutes} ${u.minute}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 24) return rest === 0 ? `${hours} ${u.hour}` : `${hours} ${u.hour} ${String(rest).padStart(2, '0')} ${u.minute}`;
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours === 0 ? `${days} ${u.day}` : `${days} ${u.day} ${restHours} ${u.hour}`;
}

// ---------------------------------------------------------------------------
// Alerts

/** An alert described in words, ready to be laid out by an adapter. */
export interface AlertDescription {
  /** `[STAGING]` / `[LOCAL]`, null in production. */
  marker: string | null;
  /** A warning line for non-production messages, null in production. */
  banner: string | null;
  emoji: string;
  severity: string;
  /** `STOCK_NEGATIF — Stock négatif sur TANK1` */
  heading: string;
  /** `TANK1 (Dépôt Daipn)`, `jdoe (10.0.0.7)` */
  place: string;
  /** Why this message is sent (`Nouvelle alerte`), when a transition was given. */
  reason: string | null;
  message: string;
  statusLabel: string;
  status: string;
  where: Row[];
  facts: Row[];
  detected: Row[];
  link: { label: string; url: string };
  footer: string;
}

export function describeAlert(view: AlertView, envelope: Envelope, kind?: TransitionKind): AlertDescription {
  const t = catalogues[envelope.lang];
  const when = (date: Date): string => formatDateTime(date, envelope.timeZone, envelope.lang);
  const where = WHERE_ORDER[view.family].flatMap((key) => {
    const value = view.where[key];
    return value ? [{ label: t.where[key], value }] : [];
  });
  const detected = [{ label: t.firstDetected, value: when(view.firstDetectedAt) }];
  if (view.lastDetectedAt.getTime() - view.firstDetectedAt.getTime() >= 60_000) {
    detected.push({ label: t.lastDetected, value: when(view.lastDetectedAt) });
  }
  return {
    marker: envMarker(envelope.env),
    banner: envelope.env === 'production' ? null : t.banner[envelope.env],
    emoji: SEVERITY_EMOJI[view.severity],
    severity: t.severity[view.severity],
    heading: `${view.checkCode} — ${view.title}`,
    place: placeOf(view),
    reason: kind ? t.transition[kind] : null,
    message: view.message,
    statusLabel: t.status,
    status: statusLine(view, envelope),
    where: where.length > 0 ? where : [{ label: t.entity, value: `${view.entityType} ${view.entityId}` }],
    facts: view.facts,
    detected,
    link: { label: t.openScreen, url: view.link },
    footer: footer(envelope, `${t.alert} ${view.alertId}`),
  };
}

/** `[STAGING] [RÉSOLU] [CRITIQUE] STOCK_NEGATIF — TANK1 (Dépôt Daipn)` */
export function alertSubject(view: AlertView, envelope: Envelope, kind: TransitionKind): string {
  const t = catalogues[envelope.lang];
  const tag = t.subjectTag[kind];
  return [envMarker(envelope.env), tag && `[${tag}]`, `[${t.severity[view.severity]}]`, `${view.checkCode} — ${placeOf(view)}`]
    .filter(Boolean)
    .join(' ');
}

/**
 * The plain-text rendering of an alert: Slack's notification fallback, the text part
 * of the email and what the local sink prints. `kind` adds why it is being sent.
 */
export function alertText(view: AlertView, envelope: Envelope, kind?: TransitionKind): string {
  const d = describeAlert(view, envelope, kind);
  const row = (r: Row): string => formatRow(r, envelope.lang);
  return [
    [d.marker, d.emoji, `${d.severity} · ${d.heading}`].filter(Boolean).join(' '),
    ...(d.reason ? [d.reason] : []),
    row({ label: d.statusLabel, value: d.status }),
    '',
    d.message,
    '',
    ...d.where.map(row),
    ...d.facts.map(row),
    ...d.detected.map(row),
    '',
    row({ label: d.link.label, value: d.link.url }),
    '',
    `— ${d.footer}`,
  ].join('\n');
}

/** The thread reply that tells what just happened to an alert already posted. */
export function transitionText(kind: TransitionKind, view: AlertView, envelope: Envelope): string {
  const t = catalogues[envelope.lang];
  const when = (date: Date | null | undefined): string =>
    date ? ` ${t.on} ${formatDateTime(date, envelope.timeZone, envelope.lang)}` : '';
  switch (kind) {
    case 'acknowledged':
      return t.acknowledged(view.acknowledgedBy) + when(view.acknowledgedAt);
    case 'resolved':
      return t.resolved(view.resolvedBy) + when(view.resolvedAt);
    case 'reopened':
      return t.transition.reopened + when(view.lastDetectedAt);
    case 'reminder':
      return `${t.transition.reminder} (${t.firstDetected.toLowerCase()}${when(view.firstDetectedAt)})`;
    case 'opened':
      return t.transition.opened;
  }
}

function statusLine(view: AlertView, envelope: Envelope): string {
  const t = catalogues[envelope.lang];
  switch (view.status) {
    case 'OPEN':
      return t.open;
    case 'ACK':
      return transitionText('acknowledged', view, envelope);
    case 'RESOLVED':
      return transitionText('resolved', view, envelope);
  }
}

function placeOf(view: AlertView): string {
  const { depot, citerne, user, ip } = view.where;
  const pair = (main: string | undefined, detail: string | undefined): string | null =>
    main ? (detail ? `${main} (${detail})` : main) : (detail ?? null);
  const byFamily = view.family === 'security' ? [pair(user, ip), pair(citerne, depot)] : [pair(citerne, depot), pair(user, ip)];
  return byFamily.find((p) => p !== null) ?? `${view.entityType} ${view.entityId}`;
}

function envMarker(env: AppEnv): string | null {
  return env === 'production' ? null : `[${env.toUpperCase()}]`;
}

/** `Vigie · env staging · release 1a2b3c4 · alerte 42` */
function footer(envelope: Envelope, reference?: string): string {
  return ['Vigie', `env ${envelope.env}`, `release ${envelope.release}`, reference].filter(Boolean).join(' · ');
}

// ---------------------------------------------------------------------------
// Digests

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  /** Shown instead of the table when it has no rows. */
  empty: string;
}

export interface DigestDescription {
  marker: string | null;
  banner: string | null;
  /** `Synthèse quotidienne — 23/11/2026` */
  title: string;
  /** `du 22/11/2026 07:00 au 23/11/2026 07:00 (Africa/Lubumbashi)` */
  period: string;
  /** `Alertes ouvertes : 2 critiques, 3 avertissements` */
  openNow: Row;
  /** New and resolved during the period. */
  movement: Row[];
  timings: Row[];
  tables: Table[];
  link: { label: string; url: string } | null;
  footer: string;
}

export function describeDigest(digest: DigestView, envelope: Envelope): DigestDescription {
  const t = catalogues[envelope.lang];
  const c = t.digest.columns;
  const { lang, timeZone } = envelope;
  const date = (d: Date): string => formatDate(d, timeZone, lang);
  const dateTime = (d: Date): string => formatDateTime(d, timeZone, lang).replace(` (${timeZone})`, '');
  // A period ending at midnight belongs to the day before.
  const lastDay = new Date(digest.to.getTime() - 1);
  const days =
    digest.period === 'daily' ? date(lastDay) : t.digest.period(date(digest.from), date(lastDay));
  const duration = (seconds: number | null | undefined): string =>
    seconds === null || seconds === undefined ? t.digest.notMeasured : formatDuration(seconds, lang);
  const alertRow = (view: AlertView, when: Date): string[] => [
    `${SEVERITY_EMOJI[view.severity]} ${t.severity[view.severity]}`,
    view.checkCode,
    placeOf(view),
    view.title,
    dateTime(when),
  ];
  const counts = digest.openBySeverity;

  return {
    marker: envMarker(envelope.env),
    banner: envelope.env === 'production' ? null : t.banner[envelope.env],
    title: `${t.digest.title[digest.period]} — ${days}`,
    period: `${t.digest.period(dateTime(digest.from), dateTime(digest.to))} (${timeZone})`,
    openNow: { label: t.digest.openNow, value: `${t.digest.critical(counts.CRITICAL)}, ${t.digest.warn(counts.WARN)}` },
    movement: [
      { label: t.digest.opened, value: String(digest.opened.length) },
      { label: t.digest.resolvedCount, value: String(digest.resolved.length) },
    ],
    timings: [
      { label: t.digest.timings.mttd, value: duration(digest.mttdSeconds) },
      { label: t.digest.timings.mtta, value: duration(digest.mttaSeconds) },
      { label: t.digest.timings.mttr, value: duration(digest.mttrSeconds) },
    ],
    tables: [
      {
        title: `${t.digest.openedSection} (${digest.opened.length})`,
        columns: [c.severity, c.rule, c.place, c.title, c.detected],
        rows: digest.opened.map((v) => alertRow(v, v.firstDetectedAt)),
        empty: t.digest.none,
      },
      {
        title: `${t.digest.resolvedSection} (${digest.resolved.length})`,
        columns: [c.severity, c.rule, c.place, c.title, c.resolvedAt],
        rows: digest.resolved.map((v) => alertRow(v, v.resolvedAt ?? v.lastDetectedAt)),
        empty: t.digest.none,
      },
      {
        title: `${t.digest.stillOpenSection} (${digest.stillOpen.length})`,
        columns: [c.severity, c.rule, c.place, c.title, c.detected, t.status],
        rows: digest.stillOpen.map((v) => [...alertRow(v, v.firstDetectedAt), statusLine(v, envelope)]),
        empty: t.digest.none,
      },
      {
        title: t.digest.byLocation,
        columns: [...t.digest.locationColumns],
        rows: digest.byLocation.map((l) => [l.depot, l.citerne, String(l.open), String(l.opened), String(l.resolved)]),
        empty: t.digest.none,
      },
    ],
    link: digest.link ? { label: t.openScreen, url: digest.link } : null,
    footer: footer(envelope),
  };
}

/** `[STAGING] Vigie — Synthèse quotidienne — 23/11/2026 — Alertes ouvertes : 2 critiques, 3 avertissements` */
export function digestSubject(digest: DigestView, envelope: Envelope): string {
  const d = describeDigest(digest, envelope);
  return [d.marker, `Vigie — ${d.title} — ${formatRow(d.openNow, envelope.lang)}`].filter(Boolean).join(' ');
}

/** The plain-text digest: the text part of the email and what the local sink prints. */
export function digestText(digest: DigestView, envelope: Envelope): string {
  const d = describeDigest(digest, envelope);
  const row = (r: Row): string => formatRow(r, envelope.lang);
  const table = (table: Table): string[] => [
    table.title,
    ...(table.rows.length === 0
      ? [`  ${table.empty}`]
      : [`  (${table.columns.join(' · ')})`, ...table.rows.map((cells) => `  - ${cells.join(' · ')}`)]),
    '',
  ];
  return [
    ...(d.banner ? [d.banner, ''] : []),
    [d.marker, d.title].filter(Boolean).join(' '),
    d.period,
    '',
    row(d.openNow),
    d.movement.map(row).join(' · '),
    ...d.timings.map(row),
    '',
    ...d.tables.flatMap(table),
    ...(d.link ? [row({ label: d.link.label, value: d.link.url }), ''] : []),
    `— ${d.footer}`,
  ].join('\n');
}

/** A few lines for a chat channel: the digest's headline figures. */
export function digestSummaryText(digest: DigestView, envelope: Envelope): string {
  const d = describeDigest(digest, envelope);
  const row = (r: Row): string => formatRow(r, envelope.lang);
  return [
    [d.marker, `📊 ${d.title}`].filter(Boolean).join(' '),
    row(d.openNow),
    d.movement.map(row).join(' · '),
    d.timings.map(row).join(' · '),
    ...(d.link ? [row({ label: d.link.label, value: d.link.url })] : []),
    `— ${d.footer}`,
  ].join('\n');
}

/** `field : value` in French, `field: value` in English. */
export function formatRow(row: Row, lang: Lang): string {
  return `${row.label}${catalogues[lang].colon}${row.value}`;
}
