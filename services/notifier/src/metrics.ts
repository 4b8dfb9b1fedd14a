import { Counter, Gauge, Histogram, Registry } from '@vigie/health';

export function createNotifierMetrics(registry: Registry) {
  return {
    deliveries: new Counter({
      name: 'vigie_notifier_deliveries_total',
      help: 'Delivery attempts by channel (slack, email), provider and result (sent, transient, permanent, silenced, suppressed)',
      labelNames: ['channel', 'provider', 'result'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'vigie_notifier_delivery_latency_seconds',
      help: 'From the alert transition to the provider accepting the message',
      labelNames: ['channel'],
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1_800, 7_200],
      registers: [registry],
    }),
    timeToDetect: new Histogram({
      name: 'vigie_time_to_detect_seconds',
      help: 'From the business write (source event) to the alert transition',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3_600],
      registers: [registry],
    }),
    permanentFailures24h: new Gauge({
      name: 'vigie_notifier_permanent_failures_24h',
      help: 'Deliveries failed permanently in the last 24 h (bad token, unknown channel, rejected address)',
      registers: [registry],
    }),
    pending: new Gauge({ name: 'vigie_notifier_pending_deliveries', help: 'Deliveries waiting to be sent', registers: [registry] }),
    stormGroups: new Counter({ name: 'vigie_notifier_storm_groups_total', help: 'Storm groups flushed, by mode', labelNames: ['mode'], registers: [registry] }),
    digests: new Counter({ name: 'vigie_notifier_digests_total', help: 'Digests completed, by period', labelNames: ['period'], registers: [registry] }),
  };
}
export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;
export { Registry };
