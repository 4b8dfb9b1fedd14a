/**
 * How a delivery failed, told apart for the caller's queue: transient failures are
 * retried with backoff, permanent ones are not. Messages carry the provider's error
 * code and a short detail we compose ourselves, never tokens, URLs with credentials
 * or the original error object (an HTTP client error holds the request headers).
 */

export type DeliveryProvider = 'slack' | 'smtp' | 'sink';

interface DeliveryErrorDetails {
  provider: DeliveryProvider;
  /** The provider's own code: a Slack error (`channel_not_found`), an HTTP status, an SMTP code. */
  providerCode: string;
  detail?: string;
}

abstract class DeliveryError extends Error {
  abstract readonly code: 'DELIVERY_TRANSIENT' | 'DELIVERY_PERMANENT';
  readonly provider: DeliveryProvider;
  readonly providerCode: string;

  constructor({ provider, providerCode, detail }: DeliveryErrorDetails) {
    super(`${provider} delivery failed (${providerCode})${detail ? `: ${detail}` : ''}`);
    this.name = new.target.name;
    this.provider = provider;
    this.providerCode = providerCode;
  }
}

/** Retry later: rate limited, 5xx, network down, SMTP 4xx. */
export class TransientDeliveryError extends DeliveryError {
  readonly code = 'DELIVERY_TRANSIENT';
  /** How long the provider asked us to wait, when it said (Slack's Retry-After). */
  readonly retryAfterMs: number | null;

  constructor(details: DeliveryErrorDetails & { retryAfterMs?: number }) {
    super(details);
    this.retryAfterMs = details.retryAfterMs ?? null;
  }
}

/** Retrying will not help: bad token, unknown channel, every recipient refused. */
export class PermanentDeliveryError extends DeliveryError {
  readonly code = 'DELIVERY_PERMANENT';
}
