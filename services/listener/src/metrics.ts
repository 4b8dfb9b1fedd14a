import { Counter, Gauge, Registry } from '@vigie/health';

export function createListenerMetrics(registry: Registry) {
  return {
    dispatched: new Counter({ name: 'vigie_events_dispatched_total', help: 'Outbox events turned into jobs', labelNames: ['kind'], registers: [registry] }),
    coalesced: new Counter({ name: 'vigie_events_coalesced_total', help: 'Outbox events dispatched without a job of their own (their key already had one waiting)', registers: [registry] }),
    redispatched: new Counter({ name: 'vigie_events_redispatched_total', help: 'Outbox events dispatched again (lost or slow jobs, Redis wipe)', registers: [registry] }),
    lag: new Gauge({ name: 'vigie_outbox_lag_seconds', help: 'Age of the oldest undispatched outbox event', registers: [registry] }),
    leader: new Gauge({ name: 'vigie_listener_leader', help: '1 when this listener is the active one', registers: [registry] }),
    notifications: new Counter({ name: 'vigie_listen_notifications_total', help: 'NOTIFY wake-ups received', registers: [registry] }),
    queueDepth: new Gauge({ name: 'vigie_queue_depth', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: [registry] }),
    queueOldestWaiting: new Gauge({ name: 'vigie_queue_oldest_waiting_seconds', help: 'Age of the oldest waiting job per queue', labelNames: ['queue'], registers: [registry] }),
    triggerFailures: new Gauge({ name: 'vigie_trigger_failures_unacknowledged', help: 'Capture trigger failures not yet acknowledged', registers: [registry] }),
  };
}
export type ListenerMetrics = ReturnType<typeof createListenerMetrics>;
export { Registry };
