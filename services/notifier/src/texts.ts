import type { Lang } from '@vigie/channels';

/**
 * The notifier's own words (French by default, English with VIGIE_LANG=en):
 * rule titles, labels of the payload's numbers, storm and flapping notes.
 * Everything else people read comes from @vigie/channels' renderer.
 */

/** Short titles of the known rules; unknown codes show their payload title or the code. */
const RULE_TITLES: Record<string, { fr: string; en: string }> = {
  STOCK_NEGATIF: { fr: 'Stock négatif', en: 'Negative stock' },
  STOCK_OVER_CAPACITY: { fr: 'Citerne au-dessus de sa capacité', en: 'Tank above capacity' },
  CDR_ARRIVE_STALE: { fr: 'CDR arrivé non déchargé', en: 'Truck arrived but not unloaded' },
  RECEPTION_ECART_15C: { fr: 'Écart de volume à 15 °C (réception)', en: '15 °C volume gap (reception)' },
  SORTIE_ECART_15C: { fr: 'Écart de volume à 15 °C (sortie)', en: '15 °C volume gap (sortie)' },
  SORTIE_STOCK_INSUFFISANT: { fr: 'Sortie au-delà du stock disponible', en: 'Sortie above available stock' },
  CITERNE_INACTIVE_USED: { fr: 'Mouvement sur une citerne inactive', en: 'Movement on an inactive tank' },
  STOCK_DRIFT: { fr: 'Dérive de stock', en: 'Stock drift' },
  JOURNAL_MISSING: { fr: 'Journal de stock manquant', en: 'Missing daily stock journal' },
  OWNER_MIXING: { fr: 'Mélange de propriétaires', en: 'Owner mix-up' },
  PRODUCT_MIXING: { fr: 'Mélange de produits dans une citerne', en: 'Product mix in a tank' },
  SORTIE_INCOHERENTE: { fr: 'Sortie incohérente', en: 'Inconsistent sortie' },
  CDR_BLOCKED: { fr: 'CDR bloqué dans un statut', en: 'Truck stuck in a status' },
  // Security rules (docs/security.md); a payload's title_fr / title_en wins over these.
  SEC_LOGIN_FAILED_BURST_ACCOUNT: { fr: 'Rafale d’échecs de connexion sur un compte', en: 'Failed-login burst on an account' },
  SEC_LOGIN_FAILED_BURST_IP: { fr: 'Rafale d’échecs de connexion depuis une adresse', en: 'Failed-login burst from an address' },
  SEC_ACCESS_DENIED_BURST_USER: { fr: 'Rafale de refus d’accès (401/403) pour un utilisateur', en: 'Burst of denied requests (401/403) for a user' },
  SEC_ACCESS_DENIED_BURST_IP: { fr: 'Rafale de refus d’accès (401/403) depuis une adresse', en: 'Burst of denied requests (401/403) from an address' },
  SEC_ROLE_CHANGED: { fr: 'Changement de rôle dans profils', en: 'Role change in profils' },
  SEC_RLS_PUBLIC_POLICY: { fr: 'Politique RLS ouverte à {public}', en: 'RLS policy open to {public}' },
  SEC_RLS_DISABLED: { fr: 'RLS désactivée sur une table métier', en: 'RLS disabled on a business table' },
  SEC_LOG_ACTION_FORGED: { fr: 'Ligne log_actions falsifiée', en: 'Forged log_actions row' },
  SEC_PRIVILEGED_OFF_HOURS: { fr: 'Action privilégiée hors heures ouvrées', en: 'Privileged action outside working hours' },
  SEC_ADMIN_NEW_ADDRESS: { fr: 'Connexion d’un administrateur depuis une nouvelle adresse', en: 'Admin sign-in from a new address' },
};

/** Unit of a payload value: litres, a ratio shown as a percentage, hours, a percentage. */
export type FactUnit = 'L' | 'ratio' | 'h' | '%';

/**
 * Labels of the payload's usual facts, in the order they are shown (the
 * evaluator's keys, docs/rules.md and docs/security.md). Other numeric keys
 * come after, as they are, while there is room.
 */
const FACT_LABELS: Record<string, { fr: string; en: string; unit?: FactUnit }> = {
  stock_ambiant: { fr: 'Stock ambiant', en: 'Ambient stock', unit: 'L' },
  stock_15c: { fr: 'Stock à 15 °C', en: 'Stock at 15 °C', unit: 'L' },
  stock: { fr: 'Stock', en: 'Stock', unit: 'L' },
  stock_avant_ambiant: { fr: 'Stock avant (ambiant)', en: 'Stock before (ambient)', unit: 'L' },
  stock_avant_15c: { fr: 'Stock avant (15 °C)', en: 'Stock before (15 °C)', unit: 'L' },
  stock_apres_ambiant: { fr: 'Stock après (ambiant)', en: 'Stock after (ambient)', unit: 'L' },
  stock_apres_15c: { fr: 'Stock après (15 °C)', en: 'Stock after (15 °C)', unit: 'L' },
  capacite_totale: { fr: 'Capacité totale', en: 'Total capacity', unit: 'L' },
  capacite_securite: { fr: 'Capacité de sécurité', en: 'Safety capacity', unit: 'L' },
  capacite: { fr: 'Capacité', en: 'Capacity', unit: 'L' },
  depassement: { fr: 'Dépassement', en: 'Excess', unit: 'L' },
  volume_ambiant: { fr: 'Volume ambiant', en: 'Ambient volume', unit: 'L' },
  volume_15c: { fr: 'Volume à 15 °C', en: 'Volume at 15 °C', unit: 'L' },
  volume_corrige_15c: { fr: 'Volume corrigé à 15 °C', en: 'Corrected volume at 15 °C', unit: 'L' },
  volume_ambiant_saisi: { fr: 'Volume ambiant saisi', en: 'Ambient volume entered', unit: 'L' },
  volume_15c_saisi: { fr: 'Volume à 15 °C saisi', en: 'Volume at 15 °C entered', unit: 'L' },
  volume: { fr: 'Volume', en: 'Volume', unit: 'L' },
  ecart_ratio: { fr: 'Écart', en: 'Gap', unit: 'ratio' },
  ecart_l: { fr: 'Écart', en: 'Gap', unit: 'L' },
  ecart: { fr: 'Écart', en: 'Gap', unit: 'L' },
  ecart_pct: { fr: 'Écart', en: 'Gap', unit: '%' },
  snapshot_ambiant: { fr: 'Stock instantané (ambiant)', en: 'Snapshot stock (ambient)', unit: 'L' },
  snapshot_15c: { fr: 'Stock instantané (15 °C)', en: 'Snapshot stock (15 °C)', unit: 'L' },
  journal_ambiant: { fr: 'Journal (ambiant)', en: 'Journal (ambient)', unit: 'L' },
  journal_15c: { fr: 'Journal (15 °C)', en: 'Journal (15 °C)', unit: 'L' },
  mouvements_ambiant: { fr: 'Selon les mouvements (ambiant)', en: 'From movements (ambient)', unit: 'L' },
  mouvements_15c: { fr: 'Selon les mouvements (15 °C)', en: 'From movements (15 °C)', unit: 'L' },
  ajustements_ambiant: { fr: 'Ajustements (ambiant)', en: 'Adjustments (ambient)', unit: 'L' },
  ajustements_15c: { fr: 'Ajustements (15 °C)', en: 'Adjustments (15 °C)', unit: 'L' },
  ajustements: { fr: 'Ajustements', en: 'Adjustments' },
  jours_manquants: { fr: 'Jours manquants', en: 'Missing days' },
  journal_jours_en_ecart: { fr: 'Jours en écart', en: 'Days in disagreement' },
  age_heures: { fr: 'Depuis', en: 'For', unit: 'h' },
  index_avant: { fr: 'Index avant', en: 'Index before' },
  index_apres: { fr: 'Index après', en: 'Index after' },
  disponible: { fr: 'Disponible', en: 'Available', unit: 'L' },
  demande: { fr: 'Demandé', en: 'Requested', unit: 'L' },
  // Words worth showing too.
  date: { fr: 'Date', en: 'Date' },
  mouvement: { fr: 'Mouvement', en: 'Movement' },
  statut: { fr: 'Statut du CDR', en: 'Truck status' },
  statut_citerne: { fr: 'Statut de la citerne', en: 'Tank status' },
  plaque_camion: { fr: 'Camion', en: 'Truck' },
  fournisseur: { fr: 'Fournisseur', en: 'Supplier' },
  client: { fr: 'Client', en: 'Client' },
  partenaire: { fr: 'Partenaire', en: 'Partner' },
  incoherences: { fr: 'Incohérences', en: 'Inconsistencies' },
  count: { fr: 'Nombre', en: 'Count' },
  failures: { fr: 'Échecs', en: 'Failures' },
  threshold: { fr: 'Seuil', en: 'Threshold' },
  // The `facts` object of security findings.
  account: { fr: 'Compte', en: 'Account' },
  target: { fr: 'Cible', en: 'Target' },
  from: { fr: 'Ancien rôle', en: 'Previous role' },
  to: { fr: 'Nouveau rôle', en: 'New role' },
  role: { fr: 'Rôle', en: 'Role' },
  actor: { fr: 'Auteur', en: 'Actor' },
  self: { fr: 'Sur son propre compte', en: 'On their own account' },
  claimed: { fr: 'Utilisateur déclaré', en: 'Claimed user' },
  action: { fr: 'Action', en: 'Action' },
  module: { fr: 'Module', en: 'Module' },
  what: { fr: 'Action', en: 'Action' },
  localTime: { fr: 'Heure locale', en: 'Local time' },
  hours: { fr: 'Heures ouvrées', en: 'Working hours' },
  denials: { fr: 'Refus', en: 'Denials' },
  window: { fr: 'Fenêtre', en: 'Window' },
  addresses: { fr: 'Adresses', en: 'Addresses' },
  accounts: { fr: 'Comptes', en: 'Accounts' },
  known: { fr: 'Adresses connues', en: 'Known addresses' },
  table: { fr: 'Table', en: 'Table' },
  policy: { fr: 'Politique', en: 'Policy' },
  policies: { fr: 'Politiques', en: 'Policies' },
  roles: { fr: 'Rôles', en: 'Roles' },
  command: { fr: 'Commande', en: 'Command' },
};

/** Unit of a rule's `threshold` (its tolerance), by rule code. */
const THRESHOLD_UNITS: Record<string, FactUnit> = {
  STOCK_NEGATIF: 'L',
  STOCK_OVER_CAPACITY: 'L',
  SORTIE_STOCK_INSUFFISANT: 'L',
  STOCK_DRIFT: 'L',
  PRODUCT_MIXING: 'L',
  RECEPTION_ECART_15C: 'ratio',
  SORTIE_ECART_15C: 'ratio',
  CDR_ARRIVE_STALE: 'h',
  CDR_BLOCKED: 'h',
};

export function thresholdUnit(code: string): FactUnit | undefined {
  return THRESHOLD_UNITS[code];
}

/** Keys shown even when they are words, not numbers. */
export function isWordFact(key: string): boolean {
  return ['date', 'mouvement', 'statut', 'statut_citerne', 'plaque_camion', 'fournisseur', 'client', 'partenaire', 'incoherences'].includes(key);
}

export function isKnownFact(key: string): boolean {
  return key in FACT_LABELS;
}

const FACT_ORDER = Object.keys(FACT_LABELS);

/** Position of a payload key when facts are listed (known keys first, in the catalogue's order). */
export function factRank(key: string): number {
  const i = FACT_ORDER.indexOf(key);
  return i < 0 ? FACT_ORDER.length : i;
}

export function ruleTitle(code: string, lang: Lang): string {
  return RULE_TITLES[code]?.[lang] ?? code;
}

export function factLabel(key: string, lang: Lang): { label: string; unit?: FactUnit | undefined } {
  const known = FACT_LABELS[key];
  if (known) return { label: known[lang], unit: known.unit };
  return { label: key.replace(/_/g, ' ') };
}

export interface NotifierTexts {
  on: string;
  /** Headline of a storm's grouped message. */
  stormTitle: (n: number, windowS: number) => string;
  stormMessage: (n: number, code: string, places: string[], more: number) => string;
  stormCount: string;
  stormFirst: string;
  stormLast: string;
  groupReminder: (stillOpen: number, total: number) => string;
  /** The state of a grouped message's alerts, once they start to be handled. */
  stormState: string;
  stormStateValue: (open: number, ack: number, resolved: number) => string;
  /** Thread reply once every alert of the group is resolved. */
  groupResolved: (total: number) => string;
  /** Who resolved a group's alerts when several people did. */
  severalPeople: (n: number) => string;
  flapping: string;
  flappingValue: (n: number, minutes: number) => string;
  reminderOpenFor: string;
  alerts: (n: number) => string;
  cli: string;
  yes: string;
  no: string;
}

const fr: NotifierTexts = {
  on: 'sur',
  stormTitle: (n, w) => `Rafale : ${n} alertes en ${w} s`,
  stormMessage: (n, code, places, more) =>
    `${n} alertes ${code} détectées en peu de temps, regroupées en un seul message. Concernées : ${places.join(', ')}${more > 0 ? ` et ${more} autre${more > 1 ? 's' : ''}` : ''}.`,
  stormCount: 'Alertes regroupées',
  stormFirst: 'Première du groupe',
  stormLast: 'Dernière du groupe',
  groupReminder: (open, total) => `⏰ Rappel : ${open} alerte${open > 1 ? 's' : ''} de ce groupe sur ${total} toujours ouverte${open > 1 ? 's' : ''}`,
  stormState: 'État du groupe',
  stormStateValue: (open, ack, resolved) =>
    `${open} ouverte${open > 1 ? 's' : ''} · ${ack} prise${ack > 1 ? 's' : ''} en charge · ${resolved} résolue${resolved > 1 ? 's' : ''}`,
  groupResolved: (total) => (total > 1 ? `✅ Les ${total} alertes du groupe sont résolues` : '✅ L’alerte du groupe est résolue'),
  severalPeople: (n) => `${n} personnes`,
  flapping: 'Instabilité',
  flappingValue: (n, m) => `${n} réouvertures en ${m} min (messages atténués)`,
  reminderOpenFor: 'Ouverte depuis',
  alerts: (n) => `${n} alerte${n > 1 ? 's' : ''}`,
  cli: 'la CLI',
  yes: 'oui',
  no: 'non',
};

const en: NotifierTexts = {
  on: 'on',
  stormTitle: (n, w) => `Storm: ${n} alerts within ${w} s`,
  stormMessage: (n, code, places, more) =>
    `${n} ${code} alerts detected in a short time, grouped into one message. Affected: ${places.join(', ')}${more > 0 ? ` and ${more} more` : ''}.`,
  stormCount: 'Grouped alerts',
  stormFirst: 'First of the group',
  stormLast: 'Last of the group',
  groupReminder: (open, total) => `⏰ Reminder: ${open} of this group's ${total} alerts still open`,
  stormState: 'Group status',
  stormStateValue: (open, ack, resolved) => `${open} open · ${ack} acknowledged · ${resolved} resolved`,
  groupResolved: (total) => (total > 1 ? `✅ All ${total} alerts of the group are resolved` : '✅ The group’s alert is resolved'),
  severalPeople: (n) => `${n} people`,
  flapping: 'Flapping',
  flappingValue: (n, m) => `${n} reopenings in ${m} min (messages damped)`,
  reminderOpenFor: 'Open for',
  alerts: (n) => `${n} alert${n > 1 ? 's' : ''}`,
  cli: 'the CLI',
  yes: 'yes',
  no: 'no',
};

export const texts: Record<Lang, NotifierTexts> = { fr, en };
