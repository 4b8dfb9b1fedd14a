import type { ClientBase } from 'pg';
import { congolesePlate, driverName, tankerPlates } from './names.js';
import {
  createCdr,
  insertAdjustment,
  insertReception,
  insertSortie,
  inTransaction,
  type Owner,
  type ReceptionRow,
  type SortieRow,
  setCdrStatut,
  walkCdrToArrive,
} from './ops.js';
import { hash32, Prng } from './prng.js';
import { CITERNE_IDS, CLIENTS, DEPOT_ID, FOURNISSEURS, PARTENAIRES, PRODUIT_ESS_ID, PRODUIT_GO_ID, USERS } from './reference.js';

/**
 * Injects one instance of an integrity anomaly into a reference database
 * that went through seedReference() (and usually generateOperations()).
 *
 * Each kind uses the most realistic path the database allows: ordinary
 * app-like INSERT/UPDATE first, an admin action next, and a superuser trick
 * only where ML_PP's database would refuse the state otherwise. Each
 * injection runs in one transaction on the given client, which must not be
 * inside a transaction already. The kinds follow DOMAIN.md section 4 and
 * DESIGN.md's rule list.
 */

export const ANOMALY_KINDS = [
  'STOCK_NEGATIF',
  'STOCK_OVER_CAPACITY',
  'CDR_ARRIVE_STALE',
  'RECEPTION_ECART_15C',
  'SORTIE_ECART_15C',
  'SORTIE_STOCK_INSUFFISANT',
  'CITERNE_INACTIVE_USED',
  'STOCK_DRIFT',
  'JOURNAL_MISSING',
  'OWNER_MIXING',
  'PRODUCT_MIXING',
  'SORTIE_INCOHERENTE',
  'CDR_BLOCKED',
] as const;

export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface InjectOptions {
  /** Simulated time of the injected operations. Default: now. */
  at?: Date;
  /** Seed for plates and names. Default derived from the kind. */
  seed?: number;
  /** Tank to use (must hold the product the anomaly needs, G.O unless stated). Default: chosen. */
  citerneId?: string;
}

export type TouchedTable =
  | 'citernes'
  | 'cours_de_route'
  | 'receptions'
  | 'sorties_produit'
  | 'stocks_adjustments'
  | 'stocks_snapshot'
  | 'stocks_journaliers';

export interface InjectedAnomaly {
  kind: AnomalyKind;
  /** What an alert about this anomaly should point at (entity_type, entity_id as in system_alerts). */
  entityType: 'CITERNE_STOCK' | 'CITERNE' | 'CDR' | 'RECEPTION' | 'SORTIE';
  entityId: string;
  /** Ids of every row inserted, updated or deleted, by table. */
  touched: Partial<Record<TouchedTable, string[]>>;
  /** app: ordinary app writes; admin: an admin action the app or SQL editor allows; superuser: a bypass. */
  path: 'app' | 'admin' | 'superuser';
  /** One sentence on how it was produced (French wording left to the rules). */
  description: string;
  /** Day concerned, when the anomaly is about one day (JOURNAL_MISSING), as YYYY-MM-DD. */
  date?: string;
}

const DAY = 86_400_000;
const ADMIN = USERS.admin.userId;
const GERANT = USERS.gerant.userId;
const GO = PRODUIT_GO_ID;

/** Creates one instance of the given anomaly and returns the rows it touched. */
export async function injectAnomaly(
  client: ClientBase,
  kind: AnomalyKind,
  opts: InjectOptions = {},
): Promise<InjectedAnomaly> {
  const ctx = new Injector(client, opts.at ?? new Date(), new Prng(opts.seed ?? hash32(`anomaly:${kind}`)), opts.citerneId);
  return inTransaction(client, () => INJECTORS[kind](ctx));
}

const INJECTORS: Record<AnomalyKind, (ctx: Injector) => Promise<InjectedAnomaly>> = {
  // Book stock below zero: an admin records a negative adjustment larger than the stock. The DB
  // accepts it (adjustments touch neither snapshot nor journal); v_stock_actuel clamps it to 0, so
  // ML_PP's V1 STOCK_NEGATIF stays silent while base + delta < 0.
  async STOCK_NEGATIF(ctx) {
    const tank = await ctx.tankWithStock(GO, 'MONALUXE', 5_000);
    const reception = await ctx.latestReception(tank.id, 'MONALUXE');
    const book = await ctx.book(tank.id, GO, 'MONALUXE');
    const adj = await ctx.adjust('RECEPTION', reception, -(Math.ceil(book.amb) + 2_500), -(Math.ceil(book.v15) + 2_500),
      '[VOLUME] Perte constatée au jaugeage de contrôle (fuite vanne de pied)');
    return ctx.result('STOCK_NEGATIF', 'CITERNE_STOCK', tank.id, 'admin',
      `Ajustement négatif de ${Math.ceil(book.amb) + 2_500} L sur ${tank.nom} (MONALUXE) : stock comptable < 0 (${adj}).`);
  },

  // Tank total above capacity while each owner row stays below it: receptions of both owners
  // (the DB checks capacity on neither, as in ML_PP). V1 tests rows, so it stays silent.
  async STOCK_OVER_CAPACITY(ctx) {
    const tanks = (await ctx.tanks()).filter((t) => t.produitId === GO && t.statut === 'active');
    const tank = ctx.preferred(tanks) ?? tanks.sort((a, b) => a.total - b.total)[0];
    if (!tank) throw new Error('STOCK_OVER_CAPACITY: no active G.O tank');
    const target = 0.56 * tank.usable;
    for (const owner of ['MONALUXE', 'PARTENAIRE'] as const) {
      let level = Math.max(tank.snap[owner], tank.book[owner]);
      if (level >= tank.usable) throw new Error(`STOCK_OVER_CAPACITY: ${tank.nom} ${owner} already above capacity`);
      while (level < target) {
        const amb = Math.min(45_000, Math.ceil(target - level) + 1_000);
        await ctx.receive(tank, owner, amb);
        level += amb;
      }
    }
    return ctx.result('STOCK_OVER_CAPACITY', 'CITERNE_STOCK', tank.id, 'app',
      `Réceptions MONALUXE et PARTENAIRE portant ${tank.nom} au-delà de sa capacité totale, chaque propriétaire restant en dessous.`);
  },

  // A CDR moved to ARRIVE whose created_at (V1's proxy for arrival) is 3 days old, no reception.
  async CDR_ARRIVE_STALE(ctx) {
    const cdr = await ctx.cdr(GO, 38_000, new Date(ctx.at.getTime() - 3 * DAY));
    await walkCdrToArrive(ctx.client, cdr);
    return ctx.result('CDR_ARRIVE_STALE', 'CDR', cdr, 'app',
      'Cours de route créé il y a 3 jours, passé ARRIVE, sans réception.');
  },

  // A reception whose volume_15c differs from the ambient volume by 7 %: the legacy client path
  // (no temperature/density sent, client-computed volume_15c kept by the ASTM trigger).
  async RECEPTION_ECART_15C(ctx) {
    const tank = await ctx.tankWithRoom(GO, 45_000);
    const amb = 36_000;
    const r = await ctx.receive(tank, 'MONALUXE', amb, { legacy15c: Math.round(amb * 0.93 * 10) / 10 });
    return ctx.result('RECEPTION_ECART_15C', 'RECEPTION', r.id, 'app',
      'Réception saisie par un client ancien (volume 15°C calculé côté client, écart de 7 %).');
  },

  // A sortie whose legacy volume_corrige_15c differs from the ambient volume by 7 % (volume_15c
  // left NULL, so both V1 and a volume_15c-first rule see it). Legacy client path as above.
  async SORTIE_ECART_15C(ctx) {
    const tank = await ctx.tankWithStock(GO, 'MONALUXE', 20_000);
    const amb = 12_000;
    const s = await ctx.ship(tank, 'MONALUXE', amb, { legacyCorrige15c: Math.round(amb * 0.93) });
    return ctx.result('SORTIE_ECART_15C', 'SORTIE', s.id, 'app',
      'Sortie saisie par un client ancien (volume_corrige_15c calculé côté client, écart de 7 %).');
  },

  // A sortie validated with more than the official stock: an admin first records a negative
  // adjustment (book stock 2,000 L), then a 10,000 L sortie passes because the sortie trigger
  // checks the snapshot, which ignores adjustments (ML_PP's known gap). Book stock ends at
  // about -8,000 L, so a book-stock STOCK_NEGATIF rule fires on the tank too.
  async SORTIE_STOCK_INSUFFISANT(ctx) {
    const tank = await ctx.tankWithStock(GO, 'MONALUXE', 30_000);
    const reception = await ctx.latestReception(tank.id, 'MONALUXE');
    const book = await ctx.book(tank.id, GO, 'MONALUXE');
    await ctx.adjust('RECEPTION', reception, -(Math.floor(book.amb) - 2_000), -(Math.floor(book.v15) - 2_000),
      '[VOLUME] Écart de jaugeage : stock physique inférieur au stock comptable');
    const s = await ctx.ship(tank, 'MONALUXE', 10_000);
    return ctx.result('SORTIE_STOCK_INSUFFISANT', 'SORTIE', s.id, 'app',
      `Sortie de 10 000 L validée sur ${tank.nom} alors que le stock officiel (v_stock_actuel) n'était que de 2 000 L.`);
  },

  // An admin sets a tank inactive, then a reception goes into it: the DB checks activity only on
  // sorties (ML_PP: only the Flutter service checks it for receptions). The tank stays inactive.
  async CITERNE_INACTIVE_USED(ctx) {
    const tank = await ctx.tankWithRoom(GO, 20_000);
    await ctx.client.query(`UPDATE public.citernes SET statut = 'inactive' WHERE id = $1`, [tank.id]);
    ctx.touch('citernes', tank.id);
    const r = await ctx.receive(tank, 'MONALUXE', 15_000);
    return ctx.result('CITERNE_INACTIVE_USED', 'RECEPTION', r.id, 'admin',
      `Citerne ${tank.nom} passée inactive puis utilisée par une réception.`);
  },

  // Snapshot no longer equal to movements and journal: a manual delta through
  // stock_snapshot_apply_delta from psql (how ML_PP declared its J0 stock), without movement or
  // log. Superuser only (EXECUTE is revoked from the API roles).
  async STOCK_DRIFT(ctx) {
    const tank = await ctx.tankWithStock(GO, 'MONALUXE', 5_000);
    await ctx.client.query(
      `SELECT public.stock_snapshot_apply_delta($1, $2, 'MONALUXE', $3, 1500, 1487.3, $4::timestamptz)`,
      [tank.id, GO, tank.depotId, ctx.at.toISOString()],
    );
    const snap = await ctx.client.query<{ id: string }>(
      `SELECT id FROM public.stocks_snapshot WHERE citerne_id = $1 AND produit_id = $2 AND proprietaire_type = 'MONALUXE'`,
      [tank.id, GO],
    );
    ctx.touch('stocks_snapshot', snap.rows[0]!.id);
    return ctx.result('STOCK_DRIFT', 'CITERNE_STOCK', tank.id, 'superuser',
      `+1 500 L appliqués directement au snapshot de ${tank.nom} (MONALUXE) sans mouvement ni journal.`);
  },

  // A day with movements but no journal row: two PARTENAIRE receptions on consecutive days, then
  // the first day's row is deleted under the rebuild's allow-write flag (superuser; the journal
  // refuses every direct write otherwise). The next day's cumulative row still matches the stock.
  async JOURNAL_MISSING(ctx) {
    const tank = await ctx.tankWithRoom(GO, 12_000);
    const first = await ctx.receive(tank, 'PARTENAIRE', 5_000, { at: new Date(ctx.at.getTime() - 2 * DAY) });
    await ctx.receive(tank, 'PARTENAIRE', 5_000, { at: new Date(ctx.at.getTime() - DAY) });
    await ctx.client.query(`SELECT set_config('app.stocks_journaliers_allow_write', '1', true)`);
    const del = await ctx.client.query<{ id: string }>(
      `DELETE FROM public.stocks_journaliers
       WHERE citerne_id = $1 AND produit_id = $2 AND proprietaire_type = 'PARTENAIRE' AND date_jour = $3::date
       RETURNING id`,
      [tank.id, GO, first.date_reception],
    );
    await ctx.client.query(`SELECT set_config('app.stocks_journaliers_allow_write', '', true)`);
    for (const row of del.rows) ctx.touch('stocks_journaliers', row.id);
    const out = ctx.result('JOURNAL_MISSING', 'CITERNE_STOCK', tank.id, 'superuser',
      `Ligne de stocks_journaliers du ${first.date_reception} supprimée pour ${tank.nom} (PARTENAIRE) malgré une réception ce jour-là.`);
    out.date = first.date_reception;
    return out;
  },

  // Partner product credited to Monaluxe stock: a MONALUXE reception (from an ARRIVE CDR) that
  // carries a partenaire_id. The DB only requires partenaire_id for PARTENAIRE, not the converse.
  async OWNER_MIXING(ctx) {
    const tank = await ctx.tankWithRoom(GO, 15_000);
    const r = await ctx.receive(tank, 'MONALUXE', 12_000, { partenaireId: PARTENAIRES[0].id });
    return ctx.result('OWNER_MIXING', 'RECEPTION', r.id, 'app',
      `Réception MONALUXE portant le partenaire ${PARTENAIRES[0].nom} : stock partenaire compté comme stock Monaluxe.`);
  },

  // Two products in one tank: an admin re-assigns a G.O tank that still holds G.O to ESS (the DB
  // allows it), then an ESS reception goes in. The G.O snapshot row stays in the tank.
  async PRODUCT_MIXING(ctx) {
    const candidates = (await ctx.tanks()).filter(
      (t) => t.produitId === GO && t.statut === 'active' && t.total > 0 && t.room >= 10_000,
    );
    let tank = ctx.preferred(candidates) ?? candidates.sort((a, b) => a.total - b.total)[0];
    if (!tank) {
      tank = await ctx.tankWithRoom(GO, 12_000);
      await ctx.receive(tank, 'MONALUXE', 2_000);
    }
    await ctx.client.query(`UPDATE public.citernes SET produit_id = $2 WHERE id = $1`, [tank.id, PRODUIT_ESS_ID]);
    ctx.touch('citernes', tank.id);
    await ctx.receive({ ...tank, produitId: PRODUIT_ESS_ID }, 'MONALUXE', 8_000);
    return ctx.result('PRODUCT_MIXING', 'CITERNE', tank.id, 'admin',
      `Citerne ${tank.nom} réaffectée à l'essence alors qu'elle contenait du gasoil, puis réception d'essence.`);
  },

  // An incoherent sortie: its meter range overlaps the previous sortie of the tank (index_avant
  // below the last index_apres) and it is dated two days after it was entered (date_sortie in
  // the future). The DB checks neither; Vigie's rule flags the date (the overlap is not judged
  // until Monaluxe confirms its meter layout, see docs/runbooks/alertes.md).
  async SORTIE_INCOHERENTE(ctx) {
    const tank = await ctx.tankWithStock(GO, 'MONALUXE', 20_000);
    if ((await ctx.meterOut(tank.id)) === null) await ctx.ship(tank, 'MONALUXE', 5_000);
    const last = (await ctx.meterOut(tank.id))!;
    const s = await ctx.ship(tank, 'MONALUXE', 8_000, {
      indexAvant: last - 3_000,
      dateSortie: new Date(ctx.at.getTime() + 2 * DAY),
    });
    return ctx.result('SORTIE_INCOHERENTE', 'SORTIE', s.id, 'app',
      `Sortie sur ${tank.nom} dont les index chevauchent la sortie précédente et datée de 2 jours dans le futur.`);
  },

  // A CDR stuck at the border: created 20 days ago, moved to TRANSIT then FRONTIERE, never further.
  async CDR_BLOCKED(ctx) {
    const cdr = await ctx.cdr(GO, 40_000, new Date(ctx.at.getTime() - 20 * DAY));
    await setCdrStatut(ctx.client, cdr, 'TRANSIT');
    await setCdrStatut(ctx.client, cdr, 'FRONTIERE');
    return ctx.result('CDR_BLOCKED', 'CDR', cdr, 'app', 'Cours de route créé il y a 20 jours et bloqué au statut FRONTIERE.');
  },
};

interface TankInfo {
  id: string;
  nom: string;
  produitId: string;
  depotId: string;
  statut: string;
  usable: number;
  snap: Record<Owner, number>;
  book: Record<Owner, number>;
  total: number;
  room: number;
}

interface ReceiveOptions {
  at?: Date;
  partenaireId?: string;
  legacy15c?: number;
}

interface ShipOptions {
  legacyCorrige15c?: number;
  indexAvant?: number;
  dateSortie?: Date;
}

class Injector {
  readonly touched: Partial<Record<TouchedTable, string[]>> = {};

  constructor(
    readonly client: ClientBase,
    readonly at: Date,
    private readonly rng: Prng,
    private readonly citerneId: string | undefined,
  ) {}

  touch(table: TouchedTable, id: string): void {
    const list = this.touched[table] ?? [];
    if (!list.includes(id)) list.push(id);
    this.touched[table] = list;
  }

  result(
    kind: AnomalyKind,
    entityType: InjectedAnomaly['entityType'],
    entityId: string,
    path: InjectedAnomaly['path'],
    description: string,
  ): InjectedAnomaly {
    return { kind, entityType, entityId, touched: this.touched, path, description };
  }

  preferred(tanks: TankInfo[]): TankInfo | undefined {
    return this.citerneId ? tanks.find((t) => t.id === this.citerneId) : undefined;
  }

  /** Physical tanks (not SEP CONGO) with per-owner snapshot and book stock. */
  async tanks(): Promise<TankInfo[]> {
    const res = await this.client.query<{
      id: string;
      nom: string;
      produit_id: string;
      depot_id: string;
      statut: string;
      usable: number;
      snap_m: number;
      snap_p: number;
      book_m: number;
      book_p: number;
    }>(
      `SELECT c.id, c.nom, c.produit_id, c.depot_id, c.statut, c.capacite_totale - c.capacite_securite AS usable,
              coalesce(sum(v.stock_ambiant_base) FILTER (WHERE v.proprietaire_type = 'MONALUXE'), 0) AS snap_m,
              coalesce(sum(v.stock_ambiant_base) FILTER (WHERE v.proprietaire_type = 'PARTENAIRE'), 0) AS snap_p,
              coalesce(sum(v.stock_ambiant_base + v.delta_ambiant_total) FILTER (WHERE v.proprietaire_type = 'MONALUXE'), 0) AS book_m,
              coalesce(sum(v.stock_ambiant_base + v.delta_ambiant_total) FILTER (WHERE v.proprietaire_type = 'PARTENAIRE'), 0) AS book_p
       FROM public.citernes c
       LEFT JOIN public.v_stock_actuel v ON v.citerne_id = c.id AND v.produit_id = c.produit_id
       WHERE c.id <> $1
       GROUP BY c.id
       ORDER BY c.nom, c.id`,
      [CITERNE_IDS.SEP_CONGO],
    );
    return res.rows.map((r) => {
      const total = Math.max(r.snap_m + r.snap_p, r.book_m + r.book_p);
      return {
        id: r.id,
        nom: r.nom,
        produitId: r.produit_id,
        depotId: r.depot_id,
        statut: r.statut,
        usable: r.usable,
        snap: { MONALUXE: r.snap_m, PARTENAIRE: r.snap_p },
        book: { MONALUXE: r.book_m, PARTENAIRE: r.book_p },
        total,
        room: r.usable - total,
      };
    });
  }

  /** An active tank of the product with at least `room` litres free (the roomiest, or the preferred one). */
  async tankWithRoom(produitId: string, room: number): Promise<TankInfo> {
    const tanks = (await this.tanks()).filter((t) => t.produitId === produitId && t.statut === 'active');
    const chosen = this.preferred(tanks) ?? tanks.filter((t) => t.room >= room).sort((a, b) => b.room - a.room)[0];
    if (!chosen || chosen.room < room) throw new Error(`no active tank with ${room} L free for product ${produitId}`);
    return chosen;
  }

  /** An active tank where the owner holds at least `amount` litres (snapshot and book); receives stock if needed. */
  async tankWithStock(produitId: string, owner: Owner, amount: number): Promise<TankInfo> {
    const tanks = (await this.tanks()).filter((t) => t.produitId === produitId && t.statut === 'active');
    const has = (t: TankInfo): boolean => Math.min(t.snap[owner], t.book[owner]) >= amount;
    let tank = this.preferred(tanks) ?? tanks.filter(has).sort((a, b) => b.snap[owner] - a.snap[owner])[0];
    if (tank && has(tank)) return tank;
    tank ??= tanks.sort((a, b) => b.room - a.room)[0];
    if (!tank) throw new Error(`no active tank for product ${produitId}`);
    let missing = amount + 1_000 - Math.min(tank.snap[owner], tank.book[owner]);
    if (missing > tank.room) throw new Error(`${tank.nom}: not enough room to receive ${missing} L`);
    while (missing > 0) {
      const amb = Math.min(40_000, missing);
      await this.receive(tank, owner, amb);
      missing -= amb;
    }
    return tank;
  }

  async book(citerneId: string, produitId: string, owner: Owner): Promise<{ amb: number; v15: number }> {
    const res = await this.client.query<{ amb: number; v15: number }>(
      `SELECT stock_ambiant_base + delta_ambiant_total AS amb, stock_15c_base + delta_15c_total AS v15
       FROM public.v_stock_actuel WHERE citerne_id = $1 AND produit_id = $2 AND proprietaire_type = $3`,
      [citerneId, produitId, owner],
    );
    return res.rows[0] ?? { amb: 0, v15: 0 };
  }

  async latestReception(citerneId: string, owner: Owner): Promise<string> {
    const res = await this.client.query<{ id: string }>(
      `SELECT id FROM public.receptions WHERE citerne_id = $1 AND proprietaire_type = $2 AND statut = 'validee'
       ORDER BY created_at DESC, id LIMIT 1`,
      [citerneId, owner],
    );
    if (res.rows[0]) return res.rows[0].id;
    const tank = (await this.tanks()).find((t) => t.id === citerneId)!;
    return (await this.receive(tank, owner, 5_000)).id;
  }

  async meterIn(citerneId: string): Promise<number | null> {
    const res = await this.client.query<{ m: number | null }>(
      `SELECT max(index_apres) AS m FROM public.receptions WHERE citerne_id = $1`,
      [citerneId],
    );
    return res.rows[0]?.m ?? null;
  }

  async meterOut(citerneId: string): Promise<number | null> {
    const res = await this.client.query<{ m: number | null }>(
      `SELECT max(index_apres) AS m FROM public.sorties_produit WHERE citerne_id = $1`,
      [citerneId],
    );
    return res.rows[0]?.m ?? null;
  }

  /** A new CDR in CHARGEMENT with a truck plate that has no open CDR. */
  async cdr(produitId: string, volume: number, createdAt: Date): Promise<string> {
    let plates = tankerPlates(this.rng);
    for (;;) {
      const open = await this.client.query(
        `SELECT 1 FROM public.cours_de_route WHERE plaque_camion = $1 AND statut <> 'DECHARGE'`,
        [plates.truck],
      );
      if (open.rows.length === 0) break;
      plates = tankerPlates(this.rng);
    }
    const f = FOURNISSEURS[0];
    const id = await createCdr(this.client, {
      fournisseurId: f.id,
      depotId: DEPOT_ID,
      produitId,
      plaqueCamion: plates.truck,
      plaqueRemorque: plates.trailer,
      chauffeurNom: driverName(this.rng),
      transporteur: 'Trans Kasumbalesa SARL',
      departPays: f.pays,
      volume,
      createdAt,
    });
    this.touch('cours_de_route', id);
    return id;
  }

  /** A reception as the app records it: MONALUXE from a CDR walked to ARRIVE, PARTENAIRE without CDR. */
  async receive(tank: TankInfo, owner: Owner, amb: number, o: ReceiveOptions = {}): Promise<ReceptionRow> {
    const at = o.at ?? this.at;
    let cdrId: string | null = null;
    if (owner === 'MONALUXE') {
      cdrId = await this.cdr(tank.produitId, amb, new Date(at.getTime() - 4 * DAY));
      await walkCdrToArrive(this.client, cdrId);
    }
    const start = (await this.meterIn(tank.id)) ?? 500_000;
    const legacy = o.legacy15c !== undefined;
    const r = await insertReception(this.client, {
      cdrId,
      citerneId: tank.id,
      produitId: tank.produitId,
      owner,
      partenaireId: o.partenaireId ?? (owner === 'PARTENAIRE' ? PARTENAIRES[0].id : null),
      indexAvant: start,
      indexApres: start + amb,
      temperatureC: legacy ? null : 26.5,
      densityKgM3: legacy ? null : 838,
      volume15c: o.legacy15c ?? null,
      createdBy: GERANT,
      createdAt: at,
    });
    this.touch('receptions', r.id);
    return r;
  }

  /** A sortie as the app records it: MONALUXE to a client, PARTENAIRE to the partner. */
  async ship(tank: TankInfo, owner: Owner, amb: number, o: ShipOptions = {}): Promise<SortieRow> {
    const start = o.indexAvant ?? (await this.meterOut(tank.id)) ?? 300_000;
    const legacy = o.legacyCorrige15c !== undefined;
    const s = await insertSortie(this.client, {
      citerneId: tank.id,
      produitId: tank.produitId,
      clientId: owner === 'MONALUXE' ? CLIENTS[0].id : null,
      partenaireId: owner === 'PARTENAIRE' ? PARTENAIRES[0].id : null,
      owner,
      indexAvant: start,
      indexApres: start + amb,
      temperatureC: legacy ? null : 27,
      densityKgM3: legacy ? null : 838,
      volumeCorrige15c: o.legacyCorrige15c ?? null,
      dateSortie: o.dateSortie ?? this.at,
      createdAt: this.at,
      createdBy: GERANT,
      chauffeurNom: driverName(this.rng),
      plaqueCamion: congolesePlate(this.rng),
      transporteur: 'Transport propre client',
    });
    this.touch('sorties_produit', s.id);
    return s;
  }

  async adjust(
    type: 'RECEPTION' | 'SORTIE',
    mouvementId: string,
    deltaAmb: number,
    delta15: number,
    reason: string,
  ): Promise<string> {
    const id = await insertAdjustment(this.client, {
      mouvementType: type,
      mouvementId,
      deltaAmbiant: deltaAmb,
      delta15c: delta15,
      reason,
      createdBy: ADMIN,
      createdAt: this.at,
    });
    this.touch('stocks_adjustments', id);
    return id;
  }
}
