import { describe, expect, it } from 'vitest';
import { frenchNumbers } from './evaluate.js';

describe('frenchNumbers', () => {
  it('writes numbers the French way in French messages', () => {
    expect(frenchNumbers('stock : -2,500.0 L ambiant, 1,229,326.35 L à 15 °C (seuil -0.01 L), écart 7.02 %')).toBe(
      'stock : -2\u202f500,0 L ambiant, 1\u202f229\u202f326,35 L à 15 °C (seuil -0,01 L), écart 7,02 %',
    );
  });

  it('leaves dates, ids and plain integers alone', () => {
    const s = 'Réception du 2026-11-23, citerne TANK4, 33333333-3333-4333-8333-000000000004, 500 L';
    expect(frenchNumbers(s)).toBe(s);
  });
});
