-- Vigie : migration additive autorisée (schéma propre, table sous RLS,
-- politiques TO authenticated, trigger sur une table métier, fonction à search_path fixé).
CREATE SCHEMA IF NOT EXISTS vigie;

CREATE TABLE vigie.outbox (
  id          bigserial PRIMARY KEY,
  table_name  text NOT NULL,
  op          text NOT NULL,
  row_id      uuid,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE vigie.outbox ENABLE ROW LEVEL SECURITY;

CREATE TABLE public.vigie_acces_suspects (
  id          bigserial PRIMARY KEY,
  user_id     uuid,
  motif       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.vigie_acces_suspects ENABLE ROW LEVEL SECURITY;
CREATE POLICY vigie_acces_suspects_select ON public.vigie_acces_suspects
  FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.user_id = auth.uid() AND p.role IN ('admin', 'directeur')));

CREATE OR REPLACE FUNCTION vigie.capture_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO vigie.outbox (table_name, op, row_id) VALUES (TG_TABLE_NAME, TG_OP, NEW.id);
  PERFORM pg_notify('vigie_outbox', '');
  RETURN NEW;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'vigie.capture_event: %', SQLERRM;
  RETURN NEW;
END $$;

CREATE TRIGGER vigie_capture_receptions AFTER INSERT ON public.receptions
  FOR EACH ROW EXECUTE FUNCTION vigie.capture_event();

ALTER TABLE public.citernes ADD COLUMN vigie_note text;

REVOKE ALL ON vigie.outbox FROM anon, authenticated;
GRANT SELECT ON public.vigie_acces_suspects TO authenticated;
