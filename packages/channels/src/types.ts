/** What a message about one alert shows. Texts (title, message, fact labels) come already in `Envelope.lang`. */
export interface AlertView {
  alertId: string;
  checkCode: string;
  severity: Severity;
  family: 'integrity' | 'security';
  entityType: string;
  entityId: string;
  title: string;
  message: string;
  where: AlertWhere;
  /** The numbers and thresholds, already formatted. */
  facts: Fact[];
  status: AlertStatus;
  firstDetectedAt: Date;
  lastDetectedAt: Date;
  acknowledgedBy?: string | null;
  acknowledgedAt?: Date | null;
  resolvedBy?: string | null;
  resolvedAt?: Date | null;
  /** The ML_PP integrity screen, e.g. `${baseUrl}/governance/integrity`. */
  link: string;
}

export type Severity = 'CRITICAL' | 'WARN';
export type AlertStatus = 'OPEN' | 'ACK' | 'RESOLVED';

export interface AlertWhere {
  depot?: string;
  citerne?: string;
  produit?: string;
  proprietaire?: string;
  user?: string;
  ip?: string;
}

export interface Fact {
  label: string;
  value: string;
}

/** Where and how a message is sent: every message shows env and release; non-production is marked. */
export interface Envelope {
  env: AppEnv;
  release: string;
  lang: Lang;
  /** IANA zone the dates are shown in, e.g. `Africa/Lubumbashi`. */
  timeZone: string;
}

export type AppEnv = 'local' | 'staging' | 'production';
export type Lang = 'fr' | 'en';

/** Why a message about an alert is being sent. */
export type TransitionKind = 'opened' | 'reopened' | 'acknowledged' | 'resolved' | 'reminder';

export interface DigestView {
  period: 'daily' | 'weekly';
  from: Date;
  to: Date;
  openBySeverity: Record<Severity, number>;
  opened: AlertView[];
  resolved: AlertView[];
  stillOpen: AlertView[];
  mttdSeconds?: number | null;
  mttaSeconds?: number | null;
  mttrSeconds?: number | null;
  byLocation: LocationCount[];
  /** The integrity screen; shown at the end of the digest when given. */
  link?: string;
}

export interface LocationCount {
  depot: string;
  citerne: string;
  open: number;
  opened: number;
  resolved: number;
}

/** A message posted to a chat channel: `ts` identifies it for updates and thread replies. */
export interface ChatDelivery {
  channel: string;
  ts: string;
}

export interface MailDelivery {
  messageId: string;
  accepted: string[];
  /** Recipients the server refused while others accepted the mail. */
  rejected: string[];
}

/** Chat (Slack) delivery; the local sink implements it too. */
export interface ChatChannel {
  /** `channel` may be omitted when the adapter has a default channel. */
  postAlert(channel: string | undefined, view: AlertView, envelope: Envelope): Promise<ChatDelivery>;
  /** Rewrite a posted alert message in place (new status). */
  updateAlert(channel: string, ts: string, view: AlertView, envelope: Envelope): Promise<ChatDelivery>;
  replyInThread(channel: string, threadTs: string, text: string): Promise<ChatDelivery>;
  postDigestSummary(channel: string | undefined, digest: DigestView, envelope: Envelope): Promise<ChatDelivery>;
}

/**
 * A message's identity in mailboxes, from opaque tokens the caller keeps
 * stable (a delivery's idempotency key): the same token always gives the
 * same Message-ID, so a message sent again after an unknown outcome is the
 * same message (mailboxes that deduplicate by Message-ID show it once), and
 * follow-ups of an alert thread under its first email.
 */
export interface MailIdentity {
  /** Token of this message → its Message-ID. */
  id: string;
  /** Token of the message it follows (the alert's first email) → In-Reply-To and References. */
  inReplyTo?: string;
}

/** Email delivery; the local sink implements it too. */
export interface MailChannel {
  sendAlert(to: string[], view: AlertView, envelope: Envelope, kind: TransitionKind, identity?: MailIdentity): Promise<MailDelivery>;
  sendDigest(to: string[], digest: DigestView, envelope: Envelope, identity?: MailIdentity): Promise<MailDelivery>;
}
