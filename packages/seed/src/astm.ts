/**
 * JavaScript twin of the reference database's simplified ASTM model
 * (infra/mlpp/migrations/0004_astm.sql), used by the generator to track
 * 15 degC balances. The database stays the source of truth: it recomputes
 * every volume_15c itself; this copy only needs to be close.
 */
export const ASTM_DENSITY_RANGE = { min: 820, max: 860 } as const;
export const ASTM_TEMPERATURE_RANGE = { min: 10, max: 40 } as const;

export function volumeCorrectionFactor(temperatureC: number, densityKgM3: number): number {
  const alpha = 186.9696 / (densityKgM3 * densityKgM3) + 0.4862 / densityKgM3;
  return 1 - alpha * (temperatureC - 15);
}

/** Volume at 15 degC rounded half away from zero (1 decimal for receptions, 0 for sorties). */
export function volume15c(volumeAmbiant: number, temperatureC: number, densityKgM3: number, decimals: 0 | 1): number {
  const f = decimals === 1 ? 10 : 1;
  const raw = volumeAmbiant * volumeCorrectionFactor(temperatureC, densityKgM3) * f;
  return (Math.sign(raw) * Math.round(Math.abs(raw))) / f;
}
