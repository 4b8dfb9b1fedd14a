import { Counter, Gauge, Histogram, type Registry } from '@vigie/health';

export function createEvaluatorMetrics(registry: Registry) {
  return {
    evaluations: new Counter({ name: 'vigie_evaluations_total', help: 'Rule evaluations run', labelNames: ['scope', 'trigger'], registers: [registry] }),
    duration: new Histogram({
      name: 'vigie_evaluation_duration_seconds',
      help: 'Duration of one evaluation (rules + alert sync)',
      labelNames: ['scope'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    findings: new Counter({ name: 'vigie_findings_total', help: 'Findings produced, by rule', labelNames: ['rule'], registers: [registry] }),
    coalesced: new Counter({ name: 'vigie_events_coalesced_total', help: 'Events already covered by an earlier evaluation of their scope', registers: [registry] }),
    acknowledged: new Counter({ name: 'vigie_events_acknowledged_total', help: 'Events processed without integrity evaluation, by kind', labelNames: ['kind'], registers: [registry] }),
    openAlerts: new Gauge({ name: 'vigie_open_alerts', help: 'OPEN and ACK alerts in system_alerts, by severity', labelNames: ['severity'], registers: [registry] }),
    sweeps: new Counter({ name: 'vigie_sweeps_total', help: 'Sweeps, by outcome', labelNames: ['outcome'], registers: [registry] }),
  };
}
export type EvaluatorMetrics = ReturnType<typeof createEvaluatorMetrics>;
