-- 0010_integrity.sql
-- ML_PP's integrity checks V1 (DOMAIN.md section 4) and its alert workflow.
-- ML_PP's known flaws are KEPT on purpose, because Vigie is measured against them:
--  * STOCK_NEGATIF reads the clamped v_stock_actuel, so it cannot fire;
--  * STOCK_OVER_CAPACITY tests each owner row, not the tank total;
--  * SORTIE_ECART_15C reads volume_corrige_15c only;
--  * for stock checks, two owner rows of one tank share (check_code, entity_type,
--    entity_id), so sync_system_alerts_from_integrity's upsert can fail with
--    "ON CONFLICT DO UPDATE command cannot affect row a second time".

CREATE VIEW public.v_integrity_checks WITH (security_invoker = true) AS
SELECT 'STOCK_NEGATIF'::text   AS check_code,
       'CRITICAL'::text        AS severity,
       'CITERNE_STOCK'::text   AS entity_type,
       v.citerne_id            AS entity_id,
       format('Stock négatif sur la citerne %s (%s) : %s L ambiant, %s L à 15°C',
              c.nom, v.proprietaire_type, round(v.stock_ambiant::numeric, 1), round(v.stock_15c::numeric, 1)) AS message,
       jsonb_build_object('depot_id', v.depot_id, 'citerne_id', v.citerne_id, 'produit_id', v.produit_id,
                          'proprietaire_type', v.proprietaire_type,
                          'stock_ambiant', v.stock_ambiant, 'stock_15c', v.stock_15c) AS payload,
       now()                   AS detected_at
FROM public.v_stock_actuel v
JOIN public.citernes c ON c.id = v.citerne_id
WHERE v.stock_ambiant < -0.01 OR v.stock_15c < -0.01
UNION ALL
SELECT 'STOCK_OVER_CAPACITY', 'CRITICAL', 'CITERNE_STOCK', v.citerne_id,
       format('Citerne %s (%s) au-dessus de sa capacité utile : %s L ambiant / %s L à 15°C pour %s L',
              c.nom, v.proprietaire_type, round(v.stock_ambiant::numeric, 1), round(v.stock_15c::numeric, 1),
              round((c.capacite_totale - c.capacite_securite)::numeric, 1)),
       jsonb_build_object('depot_id', v.depot_id, 'citerne_id', v.citerne_id, 'produit_id', v.produit_id,
                          'proprietaire_type', v.proprietaire_type,
                          'stock_ambiant', v.stock_ambiant, 'stock_15c', v.stock_15c,
                          'capacite_totale', c.capacite_totale, 'capacite_securite', c.capacite_securite),
       now()
FROM public.v_stock_actuel v
JOIN public.citernes c ON c.id = v.citerne_id
WHERE c.statut = 'active'
  AND (v.stock_ambiant > c.capacite_totale - c.capacite_securite
       OR v.stock_15c > c.capacite_totale - c.capacite_securite)
UNION ALL
-- created_at is a proxy: there is no arrival timestamp.
SELECT 'CDR_ARRIVE_STALE', 'WARN', 'CDR', cdr.id,
       format('Cours de route %s (camion %s) ARRIVE depuis plus de 2 jours sans réception validée', cdr.id, cdr.plaque_camion),
       jsonb_build_object('cours_de_route_id', cdr.id, 'plaque_camion', cdr.plaque_camion,
                          'produit_id', cdr.produit_id, 'depot_destination_id', cdr.depot_destination_id,
                          'created_at', cdr.created_at),
       now()
FROM public.cours_de_route cdr
WHERE cdr.statut = 'ARRIVE'
  AND cdr.created_at < now() - interval '2 days'
  AND NOT EXISTS (SELECT 1 FROM public.receptions r
                  WHERE r.cours_de_route_id = cdr.id AND r.statut = 'validee')
UNION ALL
SELECT 'RECEPTION_ECART_15C', 'WARN', 'RECEPTION', r.id,
       format('Réception %s : écart 15°C de %s %% (ambiant %s L, 15°C %s L)', r.id,
              round((abs(coalesce(r.volume_15c, r.volume_corrige_15c) - r.volume_ambiant) / r.volume_ambiant * 100)::numeric, 2),
              r.volume_ambiant, coalesce(r.volume_15c, r.volume_corrige_15c)),
       jsonb_build_object('reception_id', r.id, 'citerne_id', r.citerne_id, 'volume_ambiant', r.volume_ambiant,
                          'volume_15c', coalesce(r.volume_15c, r.volume_corrige_15c)),
       now()
FROM public.receptions r
WHERE r.statut = 'validee'
  AND r.volume_ambiant > 0
  AND abs(coalesce(r.volume_15c, r.volume_corrige_15c) - r.volume_ambiant) / r.volume_ambiant > 0.05
UNION ALL
SELECT 'SORTIE_ECART_15C', 'WARN', 'SORTIE', s.id,
       format('Sortie %s : écart 15°C de %s %% (ambiant %s L, 15°C %s L)', s.id,
              round((abs(s.volume_corrige_15c - s.volume_ambiant) / s.volume_ambiant * 100)::numeric, 2),
              s.volume_ambiant, s.volume_corrige_15c),
       jsonb_build_object('sortie_id', s.id, 'citerne_id', s.citerne_id, 'volume_ambiant', s.volume_ambiant,
                          'volume_corrige_15c', s.volume_corrige_15c),
       now()
FROM public.sorties_produit s
WHERE s.statut = 'validee'
  AND s.volume_ambiant > 0
  AND abs(s.volume_corrige_15c - s.volume_ambiant) / s.volume_ambiant > 0.05;

-- updated_at on every change, and the actor of an ACK / RESOLVE taken from the
-- JWT when the status actually changes (like ML_PP's trg_system_alerts_set_actor).
CREATE OR REPLACE FUNCTION public.system_alerts_set_actor() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at := now();
  -- The sync below resolves with resolved_by NULL whoever calls it.
  IF NEW.status IS DISTINCT FROM OLD.status
     AND coalesce(current_setting('app.system_alerts_sync', true), '') <> '1' THEN
    IF NEW.status = 'ACK' THEN
      NEW.acknowledged_at := coalesce(NEW.acknowledged_at, now());
      NEW.acknowledged_by := coalesce(NEW.acknowledged_by, auth.uid());
    ELSIF NEW.status = 'RESOLVED' THEN
      NEW.resolved_at := coalesce(NEW.resolved_at, now());
      NEW.resolved_by := coalesce(NEW.resolved_by, auth.uid());
    END IF;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER trg_system_alerts_set_actor
  BEFORE UPDATE ON public.system_alerts
  FOR EACH ROW EXECUTE FUNCTION public.system_alerts_set_actor();

-- Upserts the current checks (CRITICAL first, at most p_limit), reopens
-- RESOLVED alerts that are detected again (clearing ack and resolve), and
-- auto-resolves alerts whose key is no longer detected, with resolved_by NULL.
-- Like ML_PP's, it resolves ANY open alert absent from v_integrity_checks,
-- whatever its check_code. Returns counts.
CREATE OR REPLACE FUNCTION public.sync_system_alerts_from_integrity(p_limit integer DEFAULT 200)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_upserted integer;
  v_reopened integer;
  v_resolved integer;
  v_flag     text;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS _sync_current (
    check_code text, severity text, entity_type text, entity_id uuid, message text, payload jsonb
  ) ON COMMIT DROP;
  TRUNCATE _sync_current;

  INSERT INTO _sync_current
  SELECT i.check_code, i.severity, i.entity_type, i.entity_id, i.message, i.payload
  FROM v_integrity_checks i
  ORDER BY CASE i.severity WHEN 'CRITICAL' THEN 0 ELSE 1 END, i.check_code, i.entity_id
  LIMIT p_limit;

  SELECT count(*) INTO v_reopened
  FROM system_alerts a JOIN _sync_current c USING (check_code, entity_type, entity_id)
  WHERE a.status = 'RESOLVED';

  INSERT INTO system_alerts AS a (check_code, severity, entity_type, entity_id, message, payload, status,
                                  first_detected_at, last_detected_at)
  SELECT c.check_code, c.severity, c.entity_type, c.entity_id, c.message, c.payload, 'OPEN', now(), now()
  FROM _sync_current c
  ON CONFLICT (check_code, entity_type, entity_id) DO UPDATE
    SET severity         = EXCLUDED.severity,
        message          = EXCLUDED.message,
        payload          = EXCLUDED.payload,
        last_detected_at = now(),
        status           = CASE WHEN a.status = 'RESOLVED' THEN 'OPEN' ELSE a.status END,
        acknowledged_by  = CASE WHEN a.status = 'RESOLVED' THEN NULL ELSE a.acknowledged_by END,
        acknowledged_at  = CASE WHEN a.status = 'RESOLVED' THEN NULL ELSE a.acknowledged_at END,
        resolved_by      = CASE WHEN a.status = 'RESOLVED' THEN NULL ELSE a.resolved_by END,
        resolved_at      = CASE WHEN a.status = 'RESOLVED' THEN NULL ELSE a.resolved_at END;
  GET DIAGNOSTICS v_upserted = ROW_COUNT;

  v_flag := current_setting('app.system_alerts_sync', true);
  PERFORM set_config('app.system_alerts_sync', '1', true);
  UPDATE system_alerts a
     SET status = 'RESOLVED', resolved_at = now(), resolved_by = NULL
   WHERE a.status IN ('OPEN', 'ACK')
     AND NOT EXISTS (SELECT 1 FROM _sync_current c
                     WHERE c.check_code = a.check_code AND c.entity_type = a.entity_type AND c.entity_id = a.entity_id);
  GET DIAGNOSTICS v_resolved = ROW_COUNT;
  PERFORM set_config('app.system_alerts_sync', coalesce(v_flag, ''), true);

  RETURN jsonb_build_object('upserted', v_upserted, 'reopened', v_reopened, 'resolved', v_resolved);
END
$$;

REVOKE EXECUTE ON FUNCTION public.sync_system_alerts_from_integrity(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.sync_system_alerts_from_integrity(integer) TO authenticated, service_role;
