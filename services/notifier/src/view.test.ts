import { describe, expect, it } from 'vitest';
import { type TransitionRow, alertView, factsOf, whereOf } from './view.js';

function transition(payload: Record<string, unknown>, over: Partial<TransitionRow> = {}): TransitionRow {
  return {
    id: 1,
    alert_id: 'a1',
    kind: 'opened',
    from_status: null,
    to_status: 'OPEN',
    check_code: 'STOCK_NEGATIF',
    severity: 'CRITICAL',
    entity_type: 'CITERNE_STOCK',
    entity_id: 'e1',
    actor: null,
    origin: 'evaluator',
    at: new Date('2026-11-23T12:05:00Z'),
    first_detected_at: new Date('2026-11-23T12:05:00Z'),
    source_event_at: null,
    message: 'Stock négatif sur TANK1',
    payload,
    ...over,
  };
}
const ctx = { lang: 'fr' as const, family: 'integrity' as const, link: 'https://monaluxe.app/governance/integrity' };

describe('alert view from a transition', () => {
  it('reads the evaluator payload conventions', () => {
    const v = alertView(
      transition({
        message_fr: 'Le stock de TANK1 est passé sous zéro.',
        message_en: 'TANK1 stock fell below zero.',
        depot: 'Dépôt Daipn',
        citerne: { nom: 'TANK1' },
        produit: 'Gasoil/AGO',
        proprietaire: 'MONALUXE',
        stock_15c: -1250.5,
        stock_ambiant: -1180,
        threshold: 0,
        citerne_id: 'x',
        vigie: { event_id: 3, event_at: '2026-11-23T12:04:59Z' },
      }),
      ctx,
    );
    expect(v.title).toBe('Stock négatif sur TANK1');
    expect(v.message).toBe('Le stock de TANK1 est passé sous zéro.');
    expect(v.where).toEqual({ depot: 'Dépôt Daipn', citerne: 'TANK1', produit: 'Gasoil/AGO', proprietaire: 'MONALUXE' });
    expect(v.facts.map((f) => f.label)).toEqual(['Stock ambiant', 'Stock à 15 °C', 'Seuil']);
    expect(v.facts[1]?.value.replace(/\s/g, ' ')).toBe('-1 250,5 L');
    expect(alertView(transition({ message_en: 'TANK1 stock fell below zero.' }), { ...ctx, lang: 'en' }).message).toBe('TANK1 stock fell below zero.');
  });

  it('survives an empty or odd payload', () => {
    const v = alertView(transition({ depot: 42, citerne: null, facts: 'nope', threshold: { value: 5, unit: '%' } }, { first_detected_at: null }), ctx);
    expect(v.message).toBe('Stock négatif sur TANK1');
    expect(v.title).toBe('Stock négatif');
    expect(v.where).toEqual({});
    expect(v.facts).toEqual([{ label: 'Seuil', value: '5 %' }]);
    expect(v.firstDetectedAt.toISOString()).toBe('2026-11-23T12:05:00.000Z');
  });

  it('uses an explicit facts list when given, and security places', () => {
    expect(factsOf({ facts: [{ label_fr: 'Échecs', label_en: 'Failures', value: 25 }, { label: 'Fenêtre', value: '5 min' }] }, 'en')).toEqual([
      { label: 'Failures', value: '25' },
      { label: 'Fenêtre', value: '5 min' },
    ]);
    expect(whereOf({ email: 'jdoe@monaluxe.app', ip: '41.243.10.7' })).toEqual({ user: 'jdoe@monaluxe.app', ip: '41.243.10.7' });
  });

  it('reads a security finding: email over the auth user id, the facts object, the rule title', () => {
    const v = alertView(
      transition(
        {
          family: 'security',
          message_fr: 'jdoe@monaluxe.app est passé de lecture à admin (par lui-même).',
          user: '0b5c8f1e-1111-4222-8333-444455556666',
          email: 'jdoe@monaluxe.app',
          ip: null,
          facts: { target: 'jdoe@monaluxe.app', from: 'lecture', to: 'admin', actor: 'jdoe@monaluxe.app', self: true },
          vigie: { event_id: 9, event_at: '2026-11-23T12:04:59Z' },
        },
        { check_code: 'SEC_ROLE_CHANGED', entity_type: 'ROLE_CHANGE' },
      ),
      { ...ctx, family: 'security' },
    );
    expect(v.title).toBe('Changement de rôle dans profils sur jdoe@monaluxe.app');
    expect(v.where).toEqual({ user: 'jdoe@monaluxe.app' });
    expect(v.facts).toEqual([
      { label: 'Cible', value: 'jdoe@monaluxe.app' },
      { label: 'Ancien rôle', value: 'lecture' },
      { label: 'Nouveau rôle', value: 'admin' },
      { label: 'Auteur', value: 'jdoe@monaluxe.app' },
      { label: 'Sur son propre compte', value: 'oui' },
    ]);
  });

  it('labels the evaluator’s numbers in the rule’s units (real payloads of 0003_integrity_rules.sql)', () => {
    const neg = factsOf(
      {
        depot: 'Dépôt Daipn', citerne: 'TANK1', produit: 'G.O', proprietaire: 'MONALUXE', citerne_id: 'x', produit_id: 'y',
        stock_ambiant: -2500, stock_15c: -2500.4, snapshot_ambiant: 6000, snapshot_15c: 5941.6,
        ajustements_ambiant: -8500, ajustements_15c: -8442, ajustements: 1, threshold: -0.01,
        message_fr: '…', vigie: { event_id: 8, event_at: '2026-11-23T23:04:33.196Z' },
      },
      'fr',
      'STOCK_NEGATIF',
    ).map((f) => `${f.label} : ${f.value.replace(/\s/g, ' ')}`);
    expect(neg).toEqual([
      'Stock ambiant : -2 500 L',
      'Stock à 15 °C : -2 500,4 L',
      'Stock instantané (ambiant) : 6 000 L',
      'Stock instantané (15 °C) : 5 941,6 L',
      'Ajustements (ambiant) : -8 500 L',
      'Ajustements (15 °C) : -8 442 L',
      'Ajustements : 1',
      'Seuil : -0,01 L',
    ]);
    const gap = factsOf(
      { date: '2026-11-23', volume_ambiant: 36000, volume_15c: 33480, volume_ambiant_saisi: 36000, volume_15c_saisi: 33480, ajustements: 0, ecart_ratio: 0.07, threshold: 0.05, reception_id: 'r' },
      'en',
      'RECEPTION_ECART_15C',
    ).map((f) => `${f.label}: ${f.value}`);
    expect(gap).toEqual([
      'Ambient volume: 36,000 L',
      'Volume at 15 °C: 33,480 L',
      'Ambient volume entered: 36,000 L',
      'Volume at 15 °C entered: 33,480 L',
      'Gap: 7%',
      'Adjustments: 0',
      'Date: 2026-11-23',
      'Threshold: 5%',
    ]);
  });
});
