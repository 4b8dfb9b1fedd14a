import type { Prng } from './prng.js';

/** Fictional people, carriers and plates for generated transports. */

const FIRST_NAMES = [
  'Jean', 'Joseph', 'Patrick', 'Didier', 'Fiston', 'Héritier', 'Christian', 'Moïse', 'Trésor', 'Papy',
  'Emmanuel', 'Godefroid', 'Serge', 'John', 'Peter', 'Joseph', 'Musonda', 'Bwalya', 'Juma', 'Hamisi',
] as const;
const LAST_NAMES = [
  'Kabila', 'Mwamba', 'Ilunga', 'Kalenga', 'Mukendi', 'Tshibangu', 'Kasongo', 'Banza', 'Ngoy', 'Mbuyi',
  'Mulenga', 'Phiri', 'Banda', 'Mwansa', 'Mushi', 'Mrema', 'Kimaro', 'Lyimo', 'Nyirenda', 'Zulu',
] as const;

export const CARRIERS = [
  'Trans Kasumbalesa SARL',
  'Zambezi Haulage Ltd',
  'Tanganyika Freight Co.',
  'Lualaba Transport SARL',
  'Copperbelt Tankers Ltd',
] as const;

export const CLIENT_CARRIERS = ['Transport propre client', 'Mwenda Logistique', 'Katanga Express SARL'] as const;

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

function letters(rng: Prng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[rng.int(0, LETTERS.length - 1)];
  return s;
}

export function driverName(rng: Prng): string {
  return `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
}

/** A long-haul tanker: Tanzanian ("T 123 ABC") or Zambian ("ABC 1234") plates. */
export function tankerPlates(rng: Prng): { truck: string; trailer: string } {
  if (rng.chance(0.6)) {
    const l = letters(rng, 2);
    return { truck: `T ${rng.int(100, 999)} D${l}`, trailer: `T ${rng.int(100, 999)} D${letters(rng, 2)}` };
  }
  return { truck: `${letters(rng, 3)} ${rng.int(1000, 9999)}`, trailer: `${letters(rng, 3)} ${rng.int(1000, 9999)}` };
}

/** A Congolese plate for a client's truck, e.g. "4521BC05". */
export function congolesePlate(rng: Prng): string {
  return `${rng.int(1000, 9999)}${letters(rng, 2)}${String(rng.int(1, 26)).padStart(2, '0')}`;
}
