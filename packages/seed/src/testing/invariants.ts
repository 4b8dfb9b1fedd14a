import type pg from 'pg';

/**
 * Invariant queries over the reference database, each returning the rows
 * that break it (an empty result means the invariant holds). They are the
 * test oracle of a "clean" generated history, independent of ML_PP's
 * v_integrity_checks.
 */
export const INVARIANTS: Record<string, string> = {
  // stock = receptions - sorties, per (tank, product, owner), ambient and 15 degC.
  snapshot_equals_movements: `
    WITH mv AS (
      SELECT citerne_id, produit_id, proprietaire_type, volume_ambiant AS amb, coalesce(volume_15c, volume_corrige_15c) AS v15
      FROM receptions WHERE statut = 'validee'
      UNION ALL
      SELECT citerne_id, produit_id, proprietaire_type, -volume_ambiant, -coalesce(volume_15c, volume_corrige_15c, 0)
      FROM sorties_produit WHERE statut = 'validee'),
    m AS (SELECT citerne_id, produit_id, proprietaire_type, sum(amb) amb, sum(v15) v15 FROM mv GROUP BY 1, 2, 3)
    SELECT * FROM m FULL JOIN stocks_snapshot s USING (citerne_id, produit_id, proprietaire_type)
    WHERE abs(coalesce(m.amb, 0) - coalesce(s.stock_ambiant, 0)) > 0.01
       OR abs(coalesce(m.v15, 0) - coalesce(s.stock_15c, 0)) > 0.01`,
  // The latest journal row of every key equals its snapshot.
  journal_latest_equals_snapshot: `
    WITH last AS (
      SELECT DISTINCT ON (citerne_id, produit_id, proprietaire_type) *
      FROM stocks_journaliers ORDER BY citerne_id, produit_id, proprietaire_type, date_jour DESC)
    SELECT * FROM last FULL JOIN stocks_snapshot s USING (citerne_id, produit_id, proprietaire_type)
    WHERE abs(coalesce(last.stock_ambiant, 0) - coalesce(s.stock_ambiant, 0)) > 0.01
       OR abs(coalesce(last.stock_15c, 0) - coalesce(s.stock_15c, 0)) > 0.01`,
  // A journal row exists for every (key, day) with a validated movement ...
  journal_row_every_movement_day: `
    SELECT m.* FROM (SELECT DISTINCT citerne_id, produit_id, proprietaire_type, date_jour FROM v_mouvements_stock
                     WHERE mouvement_type <> 'J0') m
    LEFT JOIN stocks_journaliers j USING (citerne_id, produit_id, proprietaire_type, date_jour)
    WHERE j.id IS NULL`,
  // ... and every row is the previous row plus that day's movements (cumulative).
  journal_cumulative: `
    WITH d AS (SELECT citerne_id, produit_id, proprietaire_type, date_jour, sum(delta_ambiant) amb, sum(delta_15c) v15
               FROM v_mouvements_stock WHERE mouvement_type <> 'J0' GROUP BY 1, 2, 3, 4),
    j AS (SELECT *, lag(stock_ambiant, 1, 0::float8) OVER w AS prev_amb, lag(stock_15c, 1, 0::float8) OVER w AS prev_15c
          FROM stocks_journaliers WINDOW w AS (PARTITION BY citerne_id, produit_id, proprietaire_type ORDER BY date_jour))
    SELECT j.*, d.amb, d.v15 FROM j LEFT JOIN d USING (citerne_id, produit_id, proprietaire_type, date_jour)
    WHERE abs(j.stock_ambiant - j.prev_amb - coalesce(d.amb, 0)) > 0.01
       OR abs(j.stock_15c - j.prev_15c - coalesce(d.v15, 0)) > 0.01`,
  // Tank total across owners within [0, capacity] (book and snapshot, ambient and 15 degC).
  tank_total_within_capacity: `
    SELECT c.nom, sum(v.stock_ambiant_base) amb, sum(v.stock_15c_base) v15,
           sum(v.stock_ambiant_base + v.delta_ambiant_total) book_amb, sum(v.stock_15c_base + v.delta_15c_total) book_15c
    FROM v_stock_actuel v JOIN citernes c ON c.id = v.citerne_id
    GROUP BY c.id, c.nom, c.capacite_totale, c.capacite_securite
    HAVING greatest(sum(v.stock_ambiant_base), sum(v.stock_15c_base), sum(v.stock_ambiant_base + v.delta_ambiant_total),
                    sum(v.stock_15c_base + v.delta_15c_total)) > max(c.capacite_totale - c.capacite_securite)`,
  book_stock_not_negative: `
    SELECT * FROM v_stock_actuel
    WHERE stock_ambiant_base + delta_ambiant_total < -0.01 OR stock_15c_base + delta_15c_total < -0.01`,
  one_product_per_tank: `
    SELECT s.* FROM stocks_snapshot s JOIN citernes c ON c.id = s.citerne_id WHERE s.produit_id <> c.produit_id
    UNION ALL
    SELECT s.* FROM stocks_snapshot s
    WHERE (SELECT count(DISTINCT produit_id) FROM stocks_snapshot x WHERE x.citerne_id = s.citerne_id) > 1`,
  no_cdr_left_arrive: `SELECT * FROM cours_de_route WHERE statut = 'ARRIVE'`,
  receptions_ecart_15c: `
    SELECT * FROM receptions WHERE statut = 'validee' AND volume_ambiant > 0
      AND abs(coalesce(volume_15c, volume_corrige_15c) - volume_ambiant) / volume_ambiant > 0.05`,
  sorties_ecart_15c: `
    SELECT * FROM sorties_produit WHERE statut = 'validee' AND volume_ambiant > 0
      AND abs(coalesce(volume_15c, volume_corrige_15c) - volume_ambiant) / volume_ambiant > 0.05`,
  owner_matches_beneficiary: `
    SELECT id FROM sorties_produit
    WHERE (proprietaire_type = 'MONALUXE') <> (client_id IS NOT NULL AND partenaire_id IS NULL)
    UNION ALL
    SELECT id FROM receptions WHERE proprietaire_type = 'MONALUXE' AND partenaire_id IS NOT NULL
    UNION ALL
    SELECT id FROM receptions WHERE proprietaire_type = 'PARTENAIRE' AND cours_de_route_id IS NOT NULL`,
  partner_balances_not_negative: `
    SELECT citerne_id, partenaire_id, sum(amb) FROM (
      SELECT citerne_id, partenaire_id, volume_ambiant amb FROM receptions WHERE statut = 'validee' AND proprietaire_type = 'PARTENAIRE'
      UNION ALL
      SELECT citerne_id, partenaire_id, -volume_ambiant FROM sorties_produit WHERE statut = 'validee' AND proprietaire_type = 'PARTENAIRE') x
    GROUP BY 1, 2 HAVING sum(amb) < -0.01`,
  movements_on_active_tanks_of_their_product: `
    SELECT r.id FROM receptions r JOIN citernes c ON c.id = r.citerne_id WHERE c.statut <> 'active' OR c.produit_id <> r.produit_id
    UNION ALL
    SELECT s.id FROM sorties_produit s JOIN citernes c ON c.id = s.citerne_id WHERE c.statut <> 'active' OR c.produit_id <> s.produit_id`,
  measurements_in_range: `
    SELECT id FROM receptions WHERE temperature_ambiante_c NOT BETWEEN 20 AND 35 OR densite_a_15 NOT BETWEEN 820 AND 860
       OR created_by IS NULL
    UNION ALL
    SELECT id FROM sorties_produit WHERE temperature_ambiante_c NOT BETWEEN 20 AND 35 OR densite_a_15_kgm3 NOT BETWEEN 820 AND 860
       OR created_by IS NULL OR date_sortie::date <> created_at::date`,
  sortie_meters_continuous: `
    SELECT * FROM (SELECT id, citerne_id, index_avant, lag(index_apres) OVER (PARTITION BY citerne_id ORDER BY date_sortie, index_avant) prev
                   FROM sorties_produit) x
    WHERE prev IS NOT NULL AND index_avant < prev`,
  cdr_open_at_most_6_days: `
    SELECT * FROM cours_de_route WHERE statut <> 'DECHARGE' AND created_at < now() - interval '6 days'`,
  cdr_lifecycle_within_days: `
    SELECT c.id FROM cours_de_route c JOIN receptions r ON r.cours_de_route_id = c.id
    WHERE r.created_at < c.created_at OR r.created_at > c.created_at + interval '6 days'`,
  v_integrity_checks_empty: `SELECT * FROM v_integrity_checks`,
};

export async function invariantViolations(client: pg.ClientBase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, sql] of Object.entries(INVARIANTS)) {
    const res = await client.query(sql);
    if (res.rows.length > 0) out[name] = res.rows.length;
  }
  return out;
}
