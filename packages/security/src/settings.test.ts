import { loadConfig } from '@vigie/config';
import { describe, expect, it } from 'vitest';
import { SECURITY_CHECK_CODES, SECURITY_RULES } from './catalogue.js';
import { formatRate, parseRate, parseWorkingHours, securityEnvFields, securitySettingsFromEnv } from './settings.js';

describe('working hours', () => {
  it('reads the documented default and multi-span forms, in English or French', () => {
    expect(parseWorkingHours('mon-sat 07:00-19:00')).toEqual([{ days: [1, 2, 3, 4, 5, 6], start: '07:00', end: '19:00' }]);
    expect(parseWorkingHours('lun-ven 07:30-18:00; sam 08:00-12:00')).toEqual([
      { days: [1, 2, 3, 4, 5], start: '07:30', end: '18:00' },
      { days: [6], start: '08:00', end: '12:00' },
    ]);
    expect(parseWorkingHours('mon,wed,fri-sun 00:00-24:00')).toEqual([{ days: [1, 3, 5, 6, 7], start: '00:00', end: '24:00' }]);
    expect(parseWorkingHours('always')).toBeNull();
  });

  it('refuses what it cannot read, saying what is expected', () => {
    expect(() => parseWorkingHours('weekdays 9-5')).toThrow(/mon-sat 07:00-19:00/);
    expect(() => parseWorkingHours('mon-fri 19:00-07:00')).toThrow(/passage de minuit/);
    expect(() => parseWorkingHours('xyz 07:00-19:00')).toThrow(/jour « xyz » inconnu/);
    expect(() => parseWorkingHours('mon 07:00-25:00')).toThrow(/invalides/);
  });
});

describe('rates', () => {
  it('reads threshold/window', () => {
    expect(parseRate('5/15m')).toEqual({ threshold: 5, windowSeconds: 900 });
    expect(parseRate('50 / 1h')).toEqual({ threshold: 50, windowSeconds: 3600 });
    expect(formatRate({ threshold: 20, windowSeconds: 300 })).toBe('20/5m');
    expect(() => parseRate('5 per minute')).toThrow(/5\/15m/);
    expect(() => parseRate('5/1s')).toThrow(/entre 10 s et 7 jours/);
  });
});

describe('environment', () => {
  const shape = { ...securityEnvFields };
  it('has documented defaults', () => {
    const cfg = loadConfig(shape, {});
    const s = securitySettingsFromEnv({ ...cfg, VIGIE_TZ: 'Africa/Lubumbashi' });
    expect(s).toMatchObject({
      workingHoursText: 'mon-sat 07:00-19:00',
      loginFailedAccount: { threshold: 5, windowSeconds: 900 },
      loginFailedIp: { threshold: 20, windowSeconds: 900 },
      sprayAccounts: 3,
      deniedUser: { threshold: 20, windowSeconds: 300 },
      deniedIp: { threshold: 50, windowSeconds: 300 },
      privilegedRoles: ['admin', 'directeur'],
      newAddressRoles: ['admin'],
      rlsSchemas: ['public'],
      rlsIgnoreTables: [],
      sweepLookbackHours: 24,
      lang: 'fr',
    });
  });

  it('names the variable and the fix on a bad value', () => {
    const run = () => loadConfig(shape, { VIGIE_SEC_LOGIN_FAILED_IP: 'beaucoup', VIGIE_WORKING_HOURS: 'nuit' });
    expect(run).toThrow(/VIGIE_SEC_LOGIN_FAILED_IP seuil « beaucoup » illisible .*→ VIGIE_SEC_LOGIN_FAILED_IP=20\/15m/);
    expect(run).toThrow(/VIGIE_WORKING_HOURS heures ouvrées « nuit » illisibles/);
  });
});

describe('catalogue', () => {
  it('gives every rule a family, both languages and its thresholds', () => {
    for (const code of SECURITY_CHECK_CODES) {
      const r = SECURITY_RULES[code];
      expect(r.code).toBe(code);
      expect(r.family).toBe('security');
      expect(r.title.fr && r.title.en).toBeTruthy();
    }
  });
});
