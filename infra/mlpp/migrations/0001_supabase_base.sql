-- 0001_supabase_base.sql
-- What a Supabase project provides before any application migration, reduced
-- to what ML_PP relies on: the three API roles, the `auth` schema with its
-- users and audit tables, and the JWT helper functions.
-- Written for Vigie's reference database; PostgreSQL 15+.

-- API roles. Roles are cluster-wide, so several reference databases on one
-- server share them: create each one only if missing, and tolerate another
-- database's migration creating it at the same moment.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        IF r = 'service_role' THEN
          EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT BYPASSRLS', r);
        ELSE
          EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT', r);
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created concurrently elsewhere in the cluster
      END;
    END IF;
  END LOOP;
  -- Supabase's service_role bypasses RLS.
  IF NOT (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'service_role') THEN
    ALTER ROLE service_role BYPASSRLS;
  END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE IF NOT EXISTS auth.users (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email              text,
  role               text DEFAULT 'authenticated',
  raw_app_meta_data  jsonb DEFAULT '{}'::jsonb,
  raw_user_meta_data jsonb DEFAULT '{}'::jsonb,
  created_at         timestamptz DEFAULT now(),
  updated_at         timestamptz DEFAULT now(),
  last_sign_in_at    timestamptz
);

CREATE TABLE IF NOT EXISTS auth.audit_log_entries (
  instance_id uuid,
  id          uuid PRIMARY KEY,
  payload     json,
  created_at  timestamptz,
  ip_address  varchar(64) NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_logs_instance_id_idx ON auth.audit_log_entries (instance_id);

-- JWT helpers. PostgREST puts the verified claims of the caller in the
-- transaction setting `request.jwt.claims` (older versions also set
-- `request.jwt.claim.sub`). Unset or empty settings give NULL, never an error.
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb
$$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub', '')
  )::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )
$$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role() TO anon, authenticated, service_role;

-- Supabase grants usage on `public` to the API roles; table privileges and
-- RLS policies come with each table (see 0011_rls.sql).
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
