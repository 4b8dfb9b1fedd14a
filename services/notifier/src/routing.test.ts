import { describe, expect, it } from 'vitest';
import { type Destinations, RoutingFileError, RoutingPolicy, parseRoutingFile } from './routing.js';

const dest: Destinations = {
  slack: { ops: 'C-OPS', security: 'C-SEC', staging: 'C-STG' },
  email: { oncall: ['oncall@x.test'], security: ['sec@x.test'], managers: ['m@x.test'], directeur: ['d@x.test'] },
};
const critical = { checkCode: 'STOCK_NEGATIF', severity: 'CRITICAL' as const, family: 'integrity' as const, entityType: 'CITERNE_STOCK' };

describe('routing defaults (DESIGN.md)', () => {
  const p = new RoutingPolicy('production', dest, null, ['AUTH_*']);

  it('CRITICAL integrity → ops channel + on-call email', () => {
    expect(p.route(critical)).toMatchObject({ slack: ['C-OPS'], email: ['oncall@x.test'], emailOn: ['opened', 'reopened', 'resolved'] });
  });

  it('CRITICAL security → security channel + security list', () => {
    expect(p.route({ ...critical, family: 'security' })).toMatchObject({ slack: ['C-SEC'], email: ['sec@x.test'] });
  });

  it('WARN → nothing immediate (digest and the ML_PP screen)', () => {
    expect(p.route({ ...critical, severity: 'WARN' })).toMatchObject({ slack: [], email: [] });
  });

  it('tells the family from the payload, then from the configured codes (prefixes allowed)', () => {
    expect(p.familyOf('STOCK_NEGATIF', {})).toBe('integrity');
    expect(p.familyOf('AUTH_BRUTE_FORCE', {})).toBe('security');
    expect(p.familyOf('ROLE_CHANGE', { family: 'security' })).toBe('security');
  });

  it('falls back to the ops channel and the on-call list when no security destination is configured', () => {
    const bare = new RoutingPolicy('production', { slack: { ops: 'C-OPS' }, email: { oncall: ['o@x.test'], security: [], managers: [], directeur: [] } }, null);
    expect(bare.route({ ...critical, family: 'security' })).toMatchObject({ slack: ['C-OPS'], email: ['o@x.test'] });
  });

  it('sends staging elsewhere when a staging channel is configured', () => {
    const staging = new RoutingPolicy('staging', dest, null);
    expect(staging.route(critical).slack).toEqual(['C-STG']);
    expect(staging.route({ ...critical, family: 'security' }).slack).toEqual(['C-STG']);
    expect(staging.route(critical).email).toEqual(['oncall@x.test']);
  });

  it('routes digests: daily to managers, weekly to the directeur', () => {
    expect(p.digest('daily')).toEqual({ email: ['m@x.test'], slack: [] });
    expect(p.digest('weekly')).toEqual({ email: ['d@x.test'], slack: [] });
  });
});

describe('routing file', () => {
  it('replaces the routes, with first match, continue, literal channels and addresses', () => {
    const file = parseRoutingFile({
      securityCodes: ['SEC_*'],
      routes: [
        { name: 'tanks', match: { checkCode: 'STOCK_*', severity: 'CRITICAL' }, slack: ['ops', 'C-TANKS'], email: ['oncall'], continue: true },
        { name: 'all-critical', match: { severity: ['CRITICAL'] }, email: ['boss@x.test'], emailOn: ['opened'] },
        { name: 'warn', match: { severity: 'WARN' }, slack: ['ops'] },
      ],
      policy: { flapThreshold: 5 },
    });
    const p = new RoutingPolicy('production', dest, file);
    expect(p.route(critical)).toEqual({
      routes: ['tanks', 'all-critical'],
      slack: ['C-OPS', 'C-TANKS'],
      email: ['oncall@x.test', 'boss@x.test'],
      emailOn: ['opened', 'reopened', 'resolved'],
    });
    expect(p.route({ ...critical, severity: 'WARN' }).slack).toEqual(['C-OPS']);
    expect(p.familyOf('SEC_LOGIN', {})).toBe('security');
    expect(p.policy).toMatchObject({ flapThreshold: 5, flapWindowMinutes: 60 });
  });

  it('names what is wrong', () => {
    expect(() => parseRoutingFile({ routes: [{ match: { severity: 'HIGH' } }] })).toThrow(RoutingFileError);
    expect(() => parseRoutingFile({ routes: [{ match: { severity: 'HIGH' } }] })).toThrow(/routes\.0\.match\.severity/);
    expect(() => parseRoutingFile({ rout: [] })).toThrow(/format invalide/);
  });
});
