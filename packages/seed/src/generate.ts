import type { ClientBase } from 'pg';
import { volume15c } from './astm.js';
import { CARRIERS, CLIENT_CARRIERS, congolesePlate, driverName, tankerPlates } from './names.js';
import type { Owner } from './ops.js';
import { hash32, Prng } from './prng.js';
import { CITERNE_IDS, CLIENTS, FOURNISSEURS, PARTENAIRES, PRODUIT_ESS_ID } from './reference.js';

/**
 * Deterministic generator of depot operations, written through the same SQL
 * path as ML_PP's app: CDRs INSERTed (CHARGEMENT) then UPDATEd to TRANSIT,
 * FRONTIERE and ARRIVE; receptions and sorties INSERTed as 'validee'; a few
 * stocks_adjustments. The database triggers compute volumes, journal,
 * snapshot and logs.
 *
 * How it stays clean: a pure simulation tracks every (tank, owner) balance in
 * JavaScript, with a safety margin, and only plans movements that keep every
 * tank within [0, capacity]. Planned rows go through a time-ordered queue and
 * are written chronologically in chunks, one transaction per chunk; inside a
 * chunk the statements run CDR inserts -> status updates -> receptions ->
 * sorties -> adjustments, each as multi-row INSERTs. Because receptions of a
 * chunk run before its sorties, the writer closes a chunk early whenever that
 * reordering could take a tank over capacity, or when a truck plate freed by
 * a reception is reused by a new CDR in the same chunk.
 */

export interface GenerateOptions {
  /** PRNG seed; the same seed on the same starting database gives the same rows. Default 1. */
  seed?: number;
  /** Length of the simulated period in days. Default 30. */
  days?: number;
  /** Stock movements to write (receptions + sorties + adjustments). Default 20 per day. */
  movements?: number;
  /**
   * First day of the period (the depot's local midnight, Africa/Lubumbashi = UTC+2, of this date
   * is used). Default: `days` days before today, so the period ends today.
   */
  start?: Date;
  /** Maximum rows per INSERT statement and per chunk. Default 500. */
  batchSize?: number;
  /** Leave a few CDRs on the road (CHARGEMENT..FRONTIERE, never ARRIVE) at the end. Default true. */
  inFlightAtEnd?: boolean;
  /** Share of stock adjustments among movements. Default 0.005. */
  adjustmentRate?: number;
  onProgress?: (progress: GenerateProgress) => void;
}

export interface GenerateProgress {
  /** Movements committed so far. */
  written: number;
  total: number;
  elapsedMs: number;
  movementsPerSecond: number;
}

export interface GenerateResult {
  seed: number;
  start: Date;
  end: Date;
  movements: number;
  receptions: number;
  sorties: number;
  adjustments: number;
  /** CDRs created (received ones plus those left on the road). */
  cdrs: number;
  cdrsInFlight: number;
  transactions: number;
  statements: number;
  elapsedMs: number;
  movementsPerSecond: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Africa/Lubumbashi is UTC+2 all year (no DST). */
const DEPOT_UTC_OFFSET = 2 * HOUR;
const OPEN_HOUR = 6;
const CLOSE_HOUR = 19;
/** Upper bound of the time between a CDR's creation and its reception. */
const CDR_LEAD_MAX = 6 * DAY;
/** Litres kept between any simulated balance and its bound (0 or capacity). */
const MARGIN = 500;

interface Balance {
  amb: number;
  v15: number;
}

interface Tank {
  id: string;
  nom: string;
  produitId: string;
  depotId: string;
  /** capacite_totale - capacite_securite: the bound of ML_PP's STOCK_OVER_CAPACITY. */
  usable: number;
  securite: number;
  meterIn: number;
  meterOut: number;
  snap: Record<Owner, Balance>;
  adj: Record<Owner, Balance>;
  partners: Map<string, Balance>;
}

interface Truck {
  plate: string;
  trailer: string;
  driver: string;
  carrier: string;
  freeAt: number;
}

interface Weighted {
  id: string;
  weight: number;
}

interface CdrRow {
  id: string;
  fournisseurId: string;
  depotId: string;
  produitId: string;
  plate: string;
  trailer: string;
  driver: string;
  carrier: string;
  pays: string | null;
  volume: number;
  lotId: string | null;
  createdAt: number;
}

interface ReceptionRow {
  id: string;
  cdrId: string | null;
  tankId: string;
  produitId: string;
  partenaireId: string | null;
  owner: Owner;
  indexAvant: number;
  indexApres: number;
  temperature: number;
  density: number;
  createdBy: string | null;
  at: number;
  amb: number;
  v15: number;
}

interface SortieRow {
  id: string;
  tankId: string;
  produitId: string;
  clientId: string | null;
  partenaireId: string | null;
  owner: Owner;
  indexAvant: number;
  indexApres: number;
  temperature: number;
  density: number;
  createdBy: string | null;
  plate: string;
  trailer: string | null;
  driver: string;
  carrier: string;
  at: number;
  amb: number;
  v15: number;
}

interface AdjustmentRow {
  id: string;
  mouvementType: 'RECEPTION' | 'SORTIE';
  mouvementId: string;
  tankId: string;
  deltaAmb: number;
  delta15: number;
  reason: string;
  createdBy: string;
  at: number;
}

type PlannedEvent =
  | { kind: 'cdr_insert'; at: number; seq: number; row: CdrRow }
  | { kind: 'cdr_status'; at: number; seq: number; id: string; statut: 'TRANSIT' | 'FRONTIERE' | 'ARRIVE' }
  | { kind: 'reception'; at: number; seq: number; row: ReceptionRow; plate: string | null }
  | { kind: 'sortie'; at: number; seq: number; row: SortieRow }
  | { kind: 'adjustment'; at: number; seq: number; row: AdjustmentRow };

interface RecentMovement {
  type: 'RECEPTION' | 'SORTIE';
  id: string;
  tank: Tank;
  owner: Owner;
}

const ADJUSTMENT_REASONS = [
  '[VOLUME] Écart de jaugeage constaté au contrôle de fin de journée',
  '[TEMP] Température relevée corrigée après contrôle du thermomètre',
  '[DENSITE] Densité corrigée selon le certificat du laboratoire',
  '[MIXTE] Régularisation volume et température après inspection',
] as const;

/** Writes generated operations; see the module comment. Requires seedReference() first. */
export async function generateOperations(client: ClientBase, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const seed = opts.seed ?? 1;
  const days = opts.days ?? 30;
  const total = opts.movements ?? 20 * days;
  const batchSize = opts.batchSize ?? 500;
  const adjustmentRate = opts.adjustmentRate ?? 0.005;
  if (!Number.isInteger(days) || days < 1) throw new RangeError('days must be a positive integer');
  if (!Number.isInteger(total) || total < 0) throw new RangeError('movements must be a non-negative integer');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 2000) throw new RangeError('batchSize must be in 1..2000');

  const startMs = depotMidnight(opts.start ?? new Date(Date.now() - days * DAY));
  const endMs = startMs + days * DAY;
  const t0 = performance.now();

  const world = await loadWorld(client);
  const rng = new Prng(seed);
  const idRng = new Prng(hash32(`ids:${seed}:${world.existingRows}`));
  const sim = new Simulation(world, rng, idRng);
  const writer = new ChunkWriter(client, world.tanks, batchSize, (written) => {
    const elapsedMs = performance.now() - t0;
    opts.onProgress?.({ written, total, elapsedMs, movementsPerSecond: written / (elapsedMs / 1000) });
  });
  const queue = new EventQueue();

  // Movement slots: per-day counts proportional to a noisy weekday weight, uniform times in opening hours.
  const dayWeights: number[] = [];
  for (let d = 0; d < days; d++) {
    const weekday = new Date(startMs + d * DAY + DEPOT_UTC_OFFSET).getUTCDay();
    const base = weekday === 0 ? 0.35 : weekday === 6 ? 0.7 : 1;
    dayWeights.push(base * rng.normal(1, 0.15, 0.6, 1.4));
  }
  const dayCounts = allocate(total, dayWeights);

  for (let d = 0; d < days; d++) {
    const count = dayCounts[d] ?? 0;
    const open = startMs + d * DAY + OPEN_HOUR * HOUR; // startMs is the depot-local midnight
    const times = new Float64Array(count);
    for (let i = 0; i < count; i++) times[i] = open + Math.floor(rng.next() * (CLOSE_HOUR - OPEN_HOUR) * HOUR);
    times.sort();
    for (const at of times) {
      for (const ev of sim.plan(at, adjustmentRate)) queue.push(ev);
      while (queue.size > 0 && queue.peek()!.at < at - CDR_LEAD_MAX) await writer.add(queue.pop()!);
    }
  }
  if (opts.inFlightAtEnd ?? true) {
    for (const ev of sim.planInFlight(endMs, days)) queue.push(ev);
  }
  while (queue.size > 0) await writer.add(queue.pop()!);
  await writer.flush();

  const elapsedMs = performance.now() - t0;
  const movements = sim.counts.receptions + sim.counts.sorties + sim.counts.adjustments;
  return {
    seed,
    start: new Date(startMs),
    end: new Date(endMs),
    movements,
    receptions: sim.counts.receptions,
    sorties: sim.counts.sorties,
    adjustments: sim.counts.adjustments,
    cdrs: sim.counts.cdrs,
    cdrsInFlight: sim.counts.cdrsInFlight,
    transactions: writer.transactions,
    statements: writer.statements,
    elapsedMs,
    movementsPerSecond: movements / (elapsedMs / 1000),
  };
}

/** The depot-local midnight (UTC+2) of the given instant's local date, in UTC ms. */
function depotMidnight(d: Date): number {
  const local = d.getTime() + DEPOT_UTC_OFFSET;
  return local - (((local % DAY) + DAY) % DAY) - DEPOT_UTC_OFFSET;
}

/** Splits total into integer parts proportional to weights (largest remainder). */
function allocate(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let rest = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (rest <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    rest--;
  }
  return out;
}

interface World {
  tanks: Tank[];
  clients: Weighted[];
  fournisseurs: (Weighted & { pays: string | null })[];
  partners: Weighted[];
  lots: Map<string, string>;
  receptionUsers: string[];
  sortieUsers: string[];
  adminUser: string | null;
  openPlates: Set<string>;
  existingRows: number;
}

/** Reads the starting state: tanks and balances, reference rows, users, open CDR plates. */
async function loadWorld(client: ClientBase): Promise<World> {
  const tanksRes = await client.query<{
    id: string;
    nom: string;
    produit_id: string;
    depot_id: string;
    capacite_totale: number;
    capacite_securite: number;
  }>(
    `SELECT id, nom, produit_id, depot_id, capacite_totale, capacite_securite
     FROM public.citernes WHERE statut = 'active' AND id <> $1 ORDER BY nom, id`,
    [CITERNE_IDS.SEP_CONGO],
  );
  if (tanksRes.rows.length === 0) throw new Error('generateOperations: no active tank; run seedReference() first');
  const tanks: Tank[] = tanksRes.rows.map((r) => ({
    id: r.id,
    nom: r.nom,
    produitId: r.produit_id,
    depotId: r.depot_id,
    usable: r.capacite_totale - r.capacite_securite,
    securite: r.capacite_securite,
    meterIn: 0,
    meterOut: 0,
    snap: { MONALUXE: { amb: 0, v15: 0 }, PARTENAIRE: { amb: 0, v15: 0 } },
    adj: { MONALUXE: { amb: 0, v15: 0 }, PARTENAIRE: { amb: 0, v15: 0 } },
    partners: new Map(),
  }));
  const byId = new Map(tanks.map((t) => [t.id, t]));

  const stock = await client.query<{
    citerne_id: string;
    produit_id: string;
    proprietaire_type: Owner;
    stock_ambiant_base: number;
    stock_15c_base: number;
    delta_ambiant_total: number;
    delta_15c_total: number;
  }>(
    `SELECT citerne_id, produit_id, proprietaire_type, stock_ambiant_base, stock_15c_base,
            delta_ambiant_total, delta_15c_total
     FROM public.v_stock_actuel`,
  );
  for (const r of stock.rows) {
    const t = byId.get(r.citerne_id);
    if (!t) continue;
    if (r.produit_id !== t.produitId && (r.stock_ambiant_base > 0 || r.stock_15c_base > 0)) {
      // Another product sits in this tank (an injected anomaly): leave the tank alone.
      byId.delete(t.id);
      continue;
    }
    t.snap[r.proprietaire_type] = { amb: r.stock_ambiant_base, v15: r.stock_15c_base };
    t.adj[r.proprietaire_type] = { amb: r.delta_ambiant_total, v15: r.delta_15c_total };
  }
  const usable = tanks.filter((t) => byId.has(t.id));

  const partnerStock = await client.query<{ citerne_id: string; partenaire_id: string; amb: number; v15: number }>(
    `SELECT citerne_id, partenaire_id, sum(amb) AS amb, sum(v15) AS v15 FROM (
       SELECT citerne_id, partenaire_id, volume_ambiant AS amb, coalesce(volume_15c, volume_corrige_15c) AS v15
       FROM public.receptions WHERE statut = 'validee' AND proprietaire_type = 'PARTENAIRE'
       UNION ALL
       SELECT citerne_id, partenaire_id, -volume_ambiant, -coalesce(volume_15c, volume_corrige_15c, 0)
       FROM public.sorties_produit WHERE statut = 'validee' AND proprietaire_type = 'PARTENAIRE'
     ) m WHERE partenaire_id IS NOT NULL GROUP BY citerne_id, partenaire_id ORDER BY citerne_id, partenaire_id`,
  );
  for (const r of partnerStock.rows) byId.get(r.citerne_id)?.partners.set(r.partenaire_id, { amb: r.amb, v15: r.v15 });

  const meters = await client.query<{ citerne_id: string; kind: string; m: number }>(
    `SELECT citerne_id, 'in' AS kind, max(index_apres) AS m FROM public.receptions GROUP BY citerne_id
     UNION ALL
     SELECT citerne_id, 'out', max(index_apres) FROM public.sorties_produit GROUP BY citerne_id`,
  );
  for (const r of meters.rows) {
    const t = byId.get(r.citerne_id);
    if (t && r.m !== null) {
      if (r.kind === 'in') t.meterIn = Math.ceil(r.m);
      else t.meterOut = Math.ceil(r.m);
    }
  }
  // Meters of a fresh tank start at a stable, tank-specific reading.
  for (const t of usable) {
    if (t.meterIn === 0) t.meterIn = 100_000 + (hash32(`in:${t.id}`) % 800_000);
    if (t.meterOut === 0) t.meterOut = 100_000 + (hash32(`out:${t.id}`) % 800_000);
  }

  const weightOf = (list: readonly { id: string; weight: number }[], id: string): number =>
    list.find((x) => x.id === id)?.weight ?? 1;
  const clients = (await client.query<{ id: string }>(`SELECT id FROM public.clients ORDER BY id`)).rows.map((r) => ({
    id: r.id,
    weight: weightOf(CLIENTS, r.id),
  }));
  const fournisseurs = (
    await client.query<{ id: string; pays: string | null }>(`SELECT id, pays FROM public.fournisseurs ORDER BY id`)
  ).rows.map((r) => ({ id: r.id, pays: r.pays, weight: weightOf(FOURNISSEURS, r.id) }));
  const partners = (await client.query<{ id: string }>(`SELECT id FROM public.partenaires ORDER BY id`)).rows.map(
    (r) => ({ id: r.id, weight: weightOf(PARTENAIRES, r.id) }),
  );
  if (clients.length === 0 || fournisseurs.length === 0) {
    throw new Error('generateOperations: no clients or suppliers; run seedReference() first');
  }
  const lots = new Map<string, string>();
  for (const r of (
    await client.query<{ id: string; fournisseur_id: string; produit_id: string }>(
      `SELECT id, fournisseur_id, produit_id FROM public.fournisseur_lot WHERE statut = 'ouvert' ORDER BY created_at, id`,
    )
  ).rows) {
    const key = `${r.fournisseur_id}/${r.produit_id}`;
    if (!lots.has(key)) lots.set(key, r.id);
  }
  const users = (
    await client.query<{ user_id: string; role: string }>(
      `SELECT user_id, role FROM public.profils WHERE user_id IS NOT NULL ORDER BY role, user_id`,
    )
  ).rows;
  const ofRoles = (roles: string[]): string[] => users.filter((u) => roles.includes(u.role)).map((u) => u.user_id);
  const openPlates = new Set(
    (
      await client.query<{ plaque_camion: string }>(
        `SELECT plaque_camion FROM public.cours_de_route WHERE statut <> 'DECHARGE'`,
      )
    ).rows.map((r) => r.plaque_camion),
  );
  const counts = await client.query<{ n: string }>(
    `SELECT ((SELECT count(*) FROM public.receptions) + (SELECT count(*) FROM public.sorties_produit)
           + (SELECT count(*) FROM public.cours_de_route) + (SELECT count(*) FROM public.stocks_adjustments))::text AS n`,
  );
  return {
    tanks: usable,
    clients,
    fournisseurs,
    partners,
    lots,
    receptionUsers: ofRoles(['gerant', 'operateur']),
    sortieUsers: ofRoles(['operateur', 'gerant']),
    adminUser: ofRoles(['admin'])[0] ?? null,
    openPlates,
    existingRows: Number(counts.rows[0]?.n ?? 0),
  };
}

/** The pure JavaScript model of the depot; plans rows, never touches the database. */
class Simulation {
  readonly counts = { receptions: 0, sorties: 0, adjustments: 0, cdrs: 0, cdrsInFlight: 0 };
  readonly #trucks: Truck[] = [];
  readonly #plates = new Set<string>();
  readonly #recent: RecentMovement[] = [];
  readonly #adjusted = new Set<string>();
  readonly #products: { id: string; weight: number }[];
  #seq = 0;

  constructor(
    private readonly world: World,
    private readonly rng: Prng,
    private readonly idRng: Prng,
  ) {
    const capacityByProduct = new Map<string, number>();
    for (const t of world.tanks) capacityByProduct.set(t.produitId, (capacityByProduct.get(t.produitId) ?? 0) + t.usable);
    this.#products = [...capacityByProduct.entries()].map(([id, weight]) => ({ id, weight }));
    for (const p of world.openPlates) this.#plates.add(p);
  }

  /** Plans the movement of one time slot (and, for a CDR reception, the CDR's earlier events). */
  plan(at: number, adjustmentRate: number): PlannedEvent[] {
    if (this.#recent.length > 0 && this.rng.chance(adjustmentRate)) {
      const adj = this.#tryAdjustment(at);
      if (adj) return adj;
    }
    const product = this.rng.weighted(this.#products.map((p) => [p.id, p.weight] as const));
    const owner: Owner = this.world.partners.length > 0 && this.rng.chance(0.2) ? 'PARTENAIRE' : 'MONALUXE';
    // Each owner aims at about half of its share of the product's capacity (80 % Monaluxe, 20 % partners).
    const pReception = Math.min(0.95, Math.max(0.05, 0.95 - 1.3 * this.#fill(product, owner)));
    const first: 'R' | 'S' = this.rng.chance(pReception) ? 'R' : 'S';
    const second: 'R' | 'S' = first === 'R' ? 'S' : 'R';
    const otherOwner: Owner = owner === 'MONALUXE' ? 'PARTENAIRE' : 'MONALUXE';
    const products = [product, ...this.#products.map((p) => p.id).filter((p) => p !== product)];
    for (const p of products) {
      for (const [type, o] of [
        [first, owner],
        [second, owner],
        [first, otherOwner],
        [second, otherOwner],
      ] as const) {
        if (o === 'PARTENAIRE' && this.world.partners.length === 0) continue;
        const events = type === 'R' ? this.#tryReception(at, p, o) : this.#trySortie(at, p, o);
        if (events) return events;
      }
    }
    return [];
  }

  /** CDRs still on the road at the end of the period (never ARRIVE, so nothing goes stale). */
  planInFlight(endMs: number, days: number): PlannedEvent[] {
    const perDay = this.counts.cdrs / days;
    const n = Math.max(1, Math.min(25, Math.round(perDay * 2.5)));
    const out: PlannedEvent[] = [];
    for (let i = 0; i < n; i++) {
      const product = this.rng.weighted(this.#products.map((p) => [p.id, p.weight] as const));
      const createdAt = endMs - Math.floor(this.rng.float(0.3, 4.5) * DAY);
      const transitAt = createdAt + Math.floor(this.rng.float(2, 10) * HOUR);
      const frontiereAt = transitAt + Math.floor(this.rng.float(20, 60) * HOUR);
      const volume = Math.round(this.rng.normal(38_000, 5_000, 25_000, 50_000) / 10) * 10;
      const cdr = this.#newCdr(product, volume, createdAt, Number.POSITIVE_INFINITY);
      out.push({ kind: 'cdr_insert', at: createdAt, seq: this.#seq++, row: cdr });
      if (transitAt < endMs) out.push({ kind: 'cdr_status', at: transitAt, seq: this.#seq++, id: cdr.id, statut: 'TRANSIT' });
      if (frontiereAt < endMs) {
        out.push({ kind: 'cdr_status', at: frontiereAt, seq: this.#seq++, id: cdr.id, statut: 'FRONTIERE' });
      }
      this.counts.cdrsInFlight++;
    }
    return out;
  }

  #fill(product: string, owner: Owner): number {
    let level = 0;
    let cap = 0;
    for (const t of this.world.tanks) {
      if (t.produitId !== product) continue;
      level += t.snap[owner].amb;
      cap += t.usable * (owner === 'MONALUXE' ? 0.8 : 0.2);
    }
    return cap > 0 ? level / cap : 1;
  }

  #tryReception(at: number, product: string, owner: Owner): PlannedEvent[] | null {
    const tanks = this.world.tanks.filter((t) => t.produitId === product);
    if (tanks.length === 0) return null;
    const partner = owner === 'PARTENAIRE' ? this.rng.weighted(this.world.partners.map((p) => [p.id, p.weight] as const)) : null;
    let cdrVolume = Math.round(this.rng.normal(38_000, 5_000, 25_000, 50_000) / 10) * 10;
    let amb =
      owner === 'MONALUXE'
        ? Math.round(cdrVolume * (1 - this.rng.float(0, 0.004)))
        : Math.round(this.rng.normal(30_000, 8_000, 8_000, 50_000));
    const room = (t: Tank): number => t.usable - MARGIN - upperLevel(t);
    let candidates = tanks.filter((t) => room(t) >= amb);
    if (candidates.length === 0) {
      const best = Math.max(...tanks.map(room));
      if (best < 15_000) return null;
      amb = Math.floor(best * 0.95);
      cdrVolume = Math.round(amb / 0.998 / 10) * 10;
      candidates = tanks.filter((t) => room(t) >= amb);
    }
    // Operators fill the emptiest tanks first.
    candidates.sort((a, b) => upperLevel(a) / a.usable - upperLevel(b) / b.usable || a.nom.localeCompare(b.nom));
    const tank = candidates[candidates.length > 1 && this.rng.chance(0.3) ? 1 : 0]!;
    const temperature = this.#temperature(at);
    const density = this.#density(product);
    const v15 = volume15c(amb, temperature, density, 1);

    const events: PlannedEvent[] = [];
    let cdrId: string | null = null;
    let plate: string | null = null;
    if (owner === 'MONALUXE') {
      const arriveAt = at - Math.floor(this.rng.float(1, 18) * HOUR);
      const frontiereAt = arriveAt - Math.floor(this.rng.float(6, 30) * HOUR);
      const transitAt = frontiereAt - Math.floor(this.rng.float(20, 60) * HOUR);
      const createdAt = transitAt - Math.floor(this.rng.float(2, 10) * HOUR);
      const cdr = this.#newCdr(product, cdrVolume, createdAt, at);
      cdr.depotId = tank.depotId;
      cdrId = cdr.id;
      plate = cdr.plate;
      events.push(
        { kind: 'cdr_insert', at: createdAt, seq: this.#seq++, row: cdr },
        { kind: 'cdr_status', at: transitAt, seq: this.#seq++, id: cdr.id, statut: 'TRANSIT' },
        { kind: 'cdr_status', at: frontiereAt, seq: this.#seq++, id: cdr.id, statut: 'FRONTIERE' },
        { kind: 'cdr_status', at: arriveAt, seq: this.#seq++, id: cdr.id, statut: 'ARRIVE' },
      );
    }
    const row: ReceptionRow = {
      id: this.idRng.uuid(),
      cdrId,
      tankId: tank.id,
      produitId: product,
      partenaireId: partner,
      owner,
      indexAvant: tank.meterIn,
      indexApres: tank.meterIn + amb,
      temperature,
      density,
      createdBy: this.world.receptionUsers.length > 0 ? this.rng.pick(this.world.receptionUsers) : null,
      at,
      amb,
      v15,
    };
    tank.meterIn += amb;
    add(tank.snap[owner], amb, v15);
    if (partner) add(getOrInit(tank.partners, partner), amb, v15);
    events.push({ kind: 'reception', at, seq: this.#seq++, row, plate });
    this.#remember({ type: 'RECEPTION', id: row.id, tank, owner });
    this.counts.receptions++;
    return events;
  }

  #trySortie(at: number, product: string, owner: Owner): PlannedEvent[] | null {
    const tanks = this.world.tanks.filter((t) => t.produitId === product);
    if (tanks.length === 0) return null;
    let partner: string | null = null;
    if (owner === 'PARTENAIRE') {
      const holders = this.world.partners.filter((p) =>
        tanks.some((t) => (t.partners.get(p.id)?.amb ?? 0) > 3_000 + 2 * MARGIN),
      );
      if (holders.length === 0) return null;
      partner = this.rng.weighted(holders.map((p) => [p.id, p.weight] as const));
    }
    const temperature = this.#temperature(at);
    const density = this.#density(product);
    let amb =
      owner === 'MONALUXE'
        ? Math.round(this.rng.normal(18_000, 8_000, 3_000, 40_000))
        : Math.round(this.rng.normal(15_000, 6_000, 3_000, 35_000));
    const available = (t: Tank): Balance => {
      const s = t.snap[owner];
      const a = t.adj[owner];
      let amb0 = Math.min(s.amb - t.securite, s.amb + a.amb);
      let v150 = Math.min(s.v15, s.v15 + a.v15);
      if (partner) {
        const p = t.partners.get(partner) ?? { amb: 0, v15: 0 };
        amb0 = Math.min(amb0, p.amb);
        v150 = Math.min(v150, p.v15);
      }
      return { amb: amb0 - MARGIN, v15: v150 - MARGIN };
    };
    const fits = (t: Tank, a: number): boolean => {
      const av = available(t);
      return av.amb >= a && av.v15 >= volume15c(a, temperature, density, 0);
    };
    let candidates = tanks.filter((t) => fits(t, amb));
    if (candidates.length === 0) {
      const best = Math.max(...tanks.map((t) => Math.min(available(t).amb, available(t).v15)));
      if (best < 3_000) return null;
      amb = Math.floor(best * 0.9);
      candidates = tanks.filter((t) => fits(t, amb));
      if (candidates.length === 0) return null;
    }
    // Operators draw from the fullest tank.
    candidates.sort((a, b) => available(b).amb - available(a).amb || a.nom.localeCompare(b.nom));
    const tank = candidates[candidates.length > 1 && this.rng.chance(0.3) ? 1 : 0]!;
    const v15 = volume15c(amb, temperature, density, 0);
    const clientId = owner === 'MONALUXE' ? this.rng.weighted(this.world.clients.map((c) => [c.id, c.weight] as const)) : null;
    const row: SortieRow = {
      id: this.idRng.uuid(),
      tankId: tank.id,
      produitId: product,
      clientId,
      partenaireId: partner,
      owner,
      indexAvant: tank.meterOut,
      indexApres: tank.meterOut + amb,
      temperature,
      density,
      createdBy: this.world.sortieUsers.length > 0 ? this.rng.pick(this.world.sortieUsers) : null,
      plate: congolesePlate(this.rng),
      trailer: this.rng.chance(0.5) ? congolesePlate(this.rng) : null,
      driver: driverName(this.rng),
      carrier: this.rng.pick(CLIENT_CARRIERS),
      at,
      amb,
      v15,
    };
    tank.meterOut += amb;
    add(tank.snap[owner], -amb, -v15);
    if (partner) add(getOrInit(tank.partners, partner), -amb, -v15);
    this.#remember({ type: 'SORTIE', id: row.id, tank, owner });
    this.counts.sorties++;
    return [{ kind: 'sortie', at, seq: this.#seq++, row }];
  }

  #tryAdjustment(at: number): PlannedEvent[] | null {
    if (!this.world.adminUser) return null;
    const m = this.rng.pick(this.#recent);
    if (this.#adjusted.has(m.id)) return null;
    let delta = Math.round(this.rng.normal(0, 40, -120, 120));
    if (Math.abs(delta) < 5) delta = delta < 0 ? -5 : 5;
    const delta15 = Math.round(delta * 0.99 * 10) / 10;
    const s = m.tank.snap[m.owner];
    const a = m.tank.adj[m.owner];
    if (delta < 0 && (s.amb + a.amb + delta < MARGIN || s.v15 + a.v15 + delta15 < MARGIN)) return null;
    if (delta > 0 && upperLevel(m.tank) + delta > m.tank.usable - MARGIN) return null;
    add(a, delta, delta15);
    this.#adjusted.add(m.id);
    this.counts.adjustments++;
    const row: AdjustmentRow = {
      id: this.idRng.uuid(),
      mouvementType: m.type,
      mouvementId: m.id,
      tankId: m.tank.id,
      deltaAmb: delta,
      delta15,
      reason: this.rng.pick(ADJUSTMENT_REASONS),
      createdBy: this.world.adminUser,
      at,
    };
    return [{ kind: 'adjustment', at, seq: this.#seq++, row }];
  }

  #newCdr(product: string, volume: number, createdAt: number, freeAt: number): CdrRow {
    const truck = this.#freeTruck(createdAt);
    truck.freeAt = freeAt;
    const f = this.rng.weighted(this.world.fournisseurs.map((x) => [x, x.weight] as const));
    const lot = this.world.lots.get(`${f.id}/${product}`);
    this.counts.cdrs++;
    return {
      id: this.idRng.uuid(),
      fournisseurId: f.id,
      depotId: this.world.tanks[0]!.depotId,
      produitId: product,
      plate: truck.plate,
      trailer: truck.trailer,
      driver: truck.driver,
      carrier: truck.carrier,
      pays: f.pays,
      volume,
      lotId: lot && this.rng.chance(0.5) ? lot : null,
      createdAt,
    };
  }

  /** A truck whose previous transport was unloaded before `at` (plates are reused only once DECHARGE). */
  #freeTruck(at: number): Truck {
    const n = this.#trucks.length;
    if (n > 0) {
      const offset = this.rng.int(0, n - 1);
      for (let i = 0; i < n; i++) {
        const t = this.#trucks[(offset + i) % n]!;
        if (t.freeAt < at) return t;
      }
    }
    let plates = tankerPlates(this.rng);
    while (this.#plates.has(plates.truck)) plates = tankerPlates(this.rng);
    this.#plates.add(plates.truck);
    const truck: Truck = {
      plate: plates.truck,
      trailer: plates.trailer,
      driver: driverName(this.rng),
      carrier: this.rng.pick(CARRIERS),
      freeAt: Number.NEGATIVE_INFINITY,
    };
    this.#trucks.push(truck);
    return truck;
  }

  /** Product temperature: warmer mid-day, 20-35 degC, 0.1 degC resolution. */
  #temperature(at: number): number {
    const hourLocal = (((at + DEPOT_UTC_OFFSET) % DAY) + DAY) % DAY / HOUR;
    const base = 24 + 5 * Math.sin((Math.PI * (hourLocal - OPEN_HOUR)) / (CLOSE_HOUR - OPEN_HOUR));
    return Math.round(this.rng.normal(base, 1.5, 20, 35) * 10) / 10;
  }

  /** Observed density in kg/m3, inside the ASTM domain (820-860). */
  #density(product: string): number {
    // The reference model's domain is ML_PP's (820-860 kg/m3) for every product: essence is kept at its low end.
    const d = product === PRODUIT_ESS_ID ? this.rng.normal(825, 2, 821, 832) : this.rng.normal(838, 4, 826, 852);
    return Math.round(d * 10) / 10;
  }

  #remember(m: RecentMovement): void {
    this.#recent.push(m);
    if (this.#recent.length > 64) this.#recent.shift();
  }
}

function add(b: Balance, amb: number, v15: number): void {
  b.amb += amb;
  b.v15 += v15;
}

function getOrInit(map: Map<string, Balance>, key: string): Balance {
  let b = map.get(key);
  if (!b) {
    b = { amb: 0, v15: 0 };
    map.set(key, b);
  }
  return b;
}

/**
 * Highest tank total (all owners) among snapshot and book (snapshot + adjustments), ambient and
 * 15 degC: book ambient and book 15 degC drift apart slowly (movements at different temperatures),
 * and ML_PP's capacity check reads both.
 */
function upperLevel(t: Tank): number {
  const amb = t.snap.MONALUXE.amb + t.snap.PARTENAIRE.amb + Math.max(0, t.adj.MONALUXE.amb + t.adj.PARTENAIRE.amb);
  const v15 = t.snap.MONALUXE.v15 + t.snap.PARTENAIRE.v15 + Math.max(0, t.adj.MONALUXE.v15 + t.adj.PARTENAIRE.v15);
  return Math.max(amb, v15);
}

/** Min-heap of planned events by (at, seq). */
class EventQueue {
  readonly #items: PlannedEvent[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): PlannedEvent | undefined {
    return this.#items[0];
  }

  push(ev: PlannedEvent): void {
    const a = this.#items;
    a.push(ev);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): PlannedEvent | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(x: PlannedEvent, y: PlannedEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** Accumulates chronological events into chunks and writes each chunk in one transaction. */
class ChunkWriter {
  transactions = 0;
  statements = 0;
  #written = 0;
  readonly #cdrInserts: CdrRow[] = [];
  readonly #status: Record<'TRANSIT' | 'FRONTIERE' | 'ARRIVE', string[]> = { TRANSIT: [], FRONTIERE: [], ARRIVE: [] };
  readonly #receptions: ReceptionRow[] = [];
  readonly #sorties: SortieRow[] = [];
  readonly #adjustments: AdjustmentRow[] = [];
  readonly #freedPlates = new Set<string>();
  #size = 0;
  /**
   * Per tank, ambient and 15 degC: snapshot and adjustment totals as committed, and what the open
   * chunk adds (receptions), removes (sorties) and adjusts.
   */
  readonly #levels = new Map<string, { snap: Balance; adj: Balance; in: Balance; out: Balance; chunkAdj: Balance }>();
  readonly #usable = new Map<string, number>();

  constructor(
    private readonly client: ClientBase,
    tanks: readonly Tank[],
    private readonly batchSize: number,
    private readonly onProgress: (written: number) => void,
  ) {
    for (const t of tanks) {
      this.#levels.set(t.id, {
        snap: { amb: t.snap.MONALUXE.amb + t.snap.PARTENAIRE.amb, v15: t.snap.MONALUXE.v15 + t.snap.PARTENAIRE.v15 },
        adj: { amb: t.adj.MONALUXE.amb + t.adj.PARTENAIRE.amb, v15: t.adj.MONALUXE.v15 + t.adj.PARTENAIRE.v15 },
        in: { amb: 0, v15: 0 },
        out: { amb: 0, v15: 0 },
        chunkAdj: { amb: 0, v15: 0 },
      });
      this.#usable.set(t.id, t.usable);
    }
  }

  #level(tankId: string): { snap: Balance; adj: Balance; in: Balance; out: Balance; chunkAdj: Balance } {
    let l = this.#levels.get(tankId);
    if (!l) {
      l = { snap: { amb: 0, v15: 0 }, adj: { amb: 0, v15: 0 }, in: { amb: 0, v15: 0 }, out: { amb: 0, v15: 0 }, chunkAdj: { amb: 0, v15: 0 } };
      this.#levels.set(tankId, l);
    }
    return l;
  }

  async add(ev: PlannedEvent): Promise<void> {
    switch (ev.kind) {
      case 'cdr_insert':
        // The plate's previous CDR turns DECHARGE with a reception of this chunk, which runs after CDR inserts.
        if (this.#freedPlates.has(ev.row.plate)) await this.flush();
        this.#cdrInserts.push(ev.row);
        break;
      case 'cdr_status':
        this.#status[ev.statut].push(ev.id);
        break;
      case 'reception': {
        // Receptions of a chunk run before its sorties: the tank peaks at committed + all chunk receptions.
        const l = this.#level(ev.row.tankId);
        const peakAmb = l.snap.amb + Math.max(0, l.adj.amb) + l.in.amb + ev.row.amb;
        const peak15 = l.snap.v15 + Math.max(0, l.adj.v15) + l.in.v15 + ev.row.v15;
        const usable = this.#usable.get(ev.row.tankId) ?? Number.POSITIVE_INFINITY;
        if (Math.max(peakAmb, peak15) > usable - MARGIN / 2) await this.flush();
        add(l.in, ev.row.amb, ev.row.v15);
        this.#receptions.push(ev.row);
        if (ev.plate) this.#freedPlates.add(ev.plate);
        break;
      }
      case 'sortie':
        add(this.#level(ev.row.tankId).out, ev.row.amb, ev.row.v15);
        this.#sorties.push(ev.row);
        break;
      case 'adjustment':
        add(this.#level(ev.row.tankId).chunkAdj, ev.row.deltaAmb, ev.row.delta15);
        this.#adjustments.push(ev.row);
        break;
    }
    this.#size++;
    if (this.#size >= this.batchSize) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const c = this.client;
    await c.query('BEGIN');
    try {
      await c.query('SET LOCAL synchronous_commit = off');
      if (this.#cdrInserts.length > 0) await this.#run(insertCdrs(this.#cdrInserts));
      for (const statut of ['TRANSIT', 'FRONTIERE', 'ARRIVE'] as const) {
        const ids = this.#status[statut];
        if (ids.length > 0) {
          await this.#run({
            text: `UPDATE public.cours_de_route SET statut = $1 WHERE id = ANY($2::uuid[])`,
            values: [statut, ids],
          });
        }
      }
      if (this.#receptions.length > 0) await this.#run(insertReceptions(this.#receptions));
      if (this.#sorties.length > 0) await this.#run(insertSorties(this.#sorties));
      if (this.#adjustments.length > 0) await this.#run(insertAdjustments(this.#adjustments));
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    this.transactions++;
    this.#written += this.#receptions.length + this.#sorties.length + this.#adjustments.length;
    for (const l of this.#levels.values()) {
      add(l.snap, l.in.amb - l.out.amb, l.in.v15 - l.out.v15);
      add(l.adj, l.chunkAdj.amb, l.chunkAdj.v15);
      l.in = { amb: 0, v15: 0 };
      l.out = { amb: 0, v15: 0 };
      l.chunkAdj = { amb: 0, v15: 0 };
    }
    this.#cdrInserts.length = 0;
    this.#status.TRANSIT.length = 0;
    this.#status.FRONTIERE.length = 0;
    this.#status.ARRIVE.length = 0;
    this.#receptions.length = 0;
    this.#sorties.length = 0;
    this.#adjustments.length = 0;
    this.#freedPlates.clear();
    this.#size = 0;
    this.onProgress(this.#written);
  }

  async #run(q: { text: string; values: unknown[] }): Promise<void> {
    this.statements++;
    await this.client.query(q.text, q.values);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Builds `INSERT ... VALUES (...), (...)` with one row template per row. */
function multiRow<T>(
  head: string,
  rows: readonly T[],
  width: number,
  template: (p: (i: number) => string) => string,
  values: (row: T) => unknown[],
): { text: string; values: unknown[] } {
  const parts: string[] = [];
  const all: unknown[] = [];
  rows.forEach((row, r) => {
    const base = r * width;
    parts.push(`(${template((i) => `$${base + i}`)})`);
    all.push(...values(row));
  });
  return { text: `${head} VALUES ${parts.join(', ')}`, values: all };
}

function insertCdrs(rows: readonly CdrRow[]): { text: string; values: unknown[] } {
  return multiRow(
    `INSERT INTO public.cours_de_route (id, fournisseur_id, depot_destination_id, produit_id, plaque_camion,
       plaque_remorque, chauffeur_nom, transporteur, depart_pays, date_chargement, volume, fournisseur_lot_id, created_at)`,
    rows,
    12,
    (p) =>
      `${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, (${p(10)}::timestamptz)::date, ${p(11)}, ${p(12)}, ${p(10)}::timestamptz`,
    (r) => [
      r.id,
      r.fournisseurId,
      r.depotId,
      r.produitId,
      r.plate,
      r.trailer,
      r.driver,
      r.carrier,
      r.pays,
      iso(r.createdAt),
      r.volume,
      r.lotId,
    ],
  );
}

function insertReceptions(rows: readonly ReceptionRow[]): { text: string; values: unknown[] } {
  return multiRow(
    `INSERT INTO public.receptions (id, cours_de_route_id, citerne_id, produit_id, partenaire_id, proprietaire_type,
       index_avant, index_apres, temperature_ambiante_c, densite_a_15, created_by, created_at, date_reception)`,
    rows,
    12,
    (p) =>
      `${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(12)}::timestamptz, (${p(12)}::timestamptz)::date`,
    (r) => [
      r.id,
      r.cdrId,
      r.tankId,
      r.produitId,
      r.partenaireId,
      r.owner,
      r.indexAvant,
      r.indexApres,
      r.temperature,
      r.density,
      r.createdBy,
      iso(r.at),
    ],
  );
}

function insertSorties(rows: readonly SortieRow[]): { text: string; values: unknown[] } {
  return multiRow(
    `INSERT INTO public.sorties_produit (id, citerne_id, produit_id, client_id, partenaire_id, proprietaire_type,
       index_avant, index_apres, temperature_ambiante_c, densite_a_15_kgm3, statut, date_sortie, created_at,
       created_by, chauffeur_nom, plaque_camion, plaque_remorque, transporteur)`,
    rows,
    16,
    (p) =>
      `${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, 'validee', ${p(11)}::timestamptz, ${p(11)}::timestamptz, ${p(12)}, ${p(13)}, ${p(14)}, ${p(15)}, ${p(16)}`,
    (r) => [
      r.id,
      r.tankId,
      r.produitId,
      r.clientId,
      r.partenaireId,
      r.owner,
      r.indexAvant,
      r.indexApres,
      r.temperature,
      r.density,
      iso(r.at),
      r.createdBy,
      r.driver,
      r.plate,
      r.trailer,
      r.carrier,
    ],
  );
}

function insertAdjustments(rows: readonly AdjustmentRow[]): { text: string; values: unknown[] } {
  return multiRow(
    `INSERT INTO public.stocks_adjustments (id, mouvement_type, mouvement_id, delta_ambiant, delta_15c, reason,
       created_by, created_at)`,
    rows,
    8,
    (p) => `${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}::timestamptz`,
    (r) => [r.id, r.mouvementType, r.mouvementId, r.deltaAmb, r.delta15, r.reason, r.createdBy, iso(r.at)],
  );
}
