import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from './__fixtures__/db.js';
import { lintExitCode, lintMigrations, readMigrationFiles, renderLintText } from './index.js';

const MIGRATIONS = join(FIXTURES, 'migrations');

async function lintFile(name: string) {
  const path = join(MIGRATIONS, name);
  return lintMigrations([{ path, sql: await readFile(path, 'utf8') }]);
}

const lintSql = (sql: string, opts?: Parameters<typeof lintMigrations>[1]) => lintMigrations([{ path: 'm.sql', sql }], opts);
const rulesAt = (issues: Array<{ line: number; rule: string }>) => issues.map((i) => `${i.line}:${i.rule}`);

describe('lintMigrations on the sample migrations', () => {
  it('catches every forbidden construct with its file and line', async () => {
    const r = await lintFile('0100_forbidden.sql');
    expect(r.issues.every((i) => i.file.endsWith('0100_forbidden.sql'))).toBe(true);
    expect(rulesAt(r.issues)).toEqual([
      '3:POLICY_WITHOUT_TO',
      '5:POLICY_TO_PUBLIC',
      '8:RLS_DISABLED',
      '10:GRANT_TO_ANON',
      '12:GRANT_TO_ANON',
      '14:DESTRUCTIVE_CHANGE', // DROP COLUMN
      '16:DESTRUCTIVE_CHANGE', // ALTER COLUMN TYPE
      '18:DESTRUCTIVE_CHANGE', // RENAME COLUMN
      '20:DESTRUCTIVE_CHANGE', // DROP POLICY
      '22:DESTRUCTIVE_CHANGE', // ALTER POLICY
      '24:DESTRUCTIVE_CHANGE', // DROP VIEW
      '26:DESTRUCTIVE_CHANGE', // CREATE OR REPLACE VIEW
      '28:DESTRUCTIVE_CHANGE', // DROP TABLE
      '30:DESTRUCTIVE_CHANGE', // DISABLE TRIGGER
    ]);
    expect(r.issues.every((i) => i.severity === 'ERROR' && i.column === 1)).toBe(true);
    expect(r.issues[5]?.message_fr).toContain('DROP COLUMN localisation sur public.citernes');
    expect(r.issues[5]?.message_en).toContain('DROP COLUMN localisation on public.citernes');
    expect(lintExitCode(r)).toBe(1);
  });

  it('passes an additive migration (schema, table under RLS, TO authenticated policy, trigger, fixed search_path)', async () => {
    const r = await lintFile('0200_additive.sql');
    expect(r.issues).toEqual([]);
    expect(r.statements).toBe(11);
    expect(lintExitCode(r)).toBe(0);
  });

  it('allows a destructive change annotated with a reason, and refuses annotations without one', async () => {
    const r = await lintFile('0300_annotated.sql');
    expect(rulesAt(r.issues)).toEqual([
      '2:DESTRUCTIVE_CHANGE_ALLOWED',
      '4:ANNOTATION_WITHOUT_REASON',
      '5:DESTRUCTIVE_CHANGE',
      '7:ANNOTATION_WITHOUT_REASON', // "reason: court" is under 10 characters
      '8:DESTRUCTIVE_CHANGE',
      '10:ANNOTATION_UNUSED',
    ]);
    expect(r.issues[0]?.severity).toBe('INFO');
    expect(r.issues[0]?.message_fr).toContain('ajout de security_invoker');
    expect(r.summary).toEqual({ error: 4, warn: 1, info: 1 });
  });

  it('reads a directory in name order', async () => {
    const files = await readMigrationFiles([MIGRATIONS]);
    expect(files.map((f) => f.path.split('/').pop())).toEqual(['0100_forbidden.sql', '0200_additive.sql', '0300_annotated.sql']);
  });
});

describe('lintMigrations rules', () => {
  it('counts lines in bytes-safe way across accented comments and multi-line statements', async () => {
    const r = await lintSql('-- Dépôt « Daipn » : réceptions, sorties\n/* é\nè */\n\nSELECT 1;\n  CREATE POLICY p ON t\n  USING (true);\n');
    expect(r.issues.map((i) => [i.line, i.column, i.rule])).toEqual([[6, 3, 'POLICY_WITHOUT_TO']]);
  });

  it('reports a parse error at its line', async () => {
    const r = await lintSql('SELECT 1;\n\nCREATE POLICY p ON t USING (;\n');
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ rule: 'PARSE_ERROR', severity: 'ERROR', line: 3 });
  });

  it('flags ALTER POLICY … TO public, NO FORCE RLS, SECURITY DEFINER without search_path and DO blocks', async () => {
    const r = await lintSql(
      [
        'ALTER POLICY p ON vigie.t TO public;',
        'ALTER TABLE vigie.t NO FORCE ROW LEVEL SECURITY;',
        'CREATE FUNCTION vigie.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;',
        "DO $$ BEGIN EXECUTE 'select 1'; END $$;",
        'CREATE POLICY a ON vigie.t FOR SELECT TO anon USING (true);',
      ].join('\n'),
    );
    expect(rulesAt(r.issues)).toEqual(['1:POLICY_TO_PUBLIC', '2:RLS_NO_FORCE', '3:SECDEF_WITHOUT_SEARCH_PATH', '4:DO_BLOCK_NOT_ANALYSED', '5:POLICY_TO_ANON']);
  });

  it('flags always-true write policies and the profils.id bug in new policies', async () => {
    const r = await lintSql(
      [
        'CREATE POLICY w ON vigie.t FOR INSERT TO authenticated WITH CHECK (true);',
        'CREATE POLICY u ON public.system_alerts FOR UPDATE TO authenticated USING (EXISTS (SELECT 1 FROM public.profils p WHERE p.id = auth.uid()));',
        'CREATE POLICY r ON vigie.t FOR SELECT TO authenticated USING (true);',
      ].join('\n'),
    );
    expect(rulesAt(r.issues)).toEqual(['1:POLICY_ALWAYS_TRUE_WRITE', '2:POLICY_PROFILS_ID_UID']);
  });

  it('flags grants to anon: ERROR on business tables, WARN elsewhere; ALTER DEFAULT PRIVILEGES too', async () => {
    const r = await lintSql(
      [
        'GRANT SELECT ON astm.grille TO anon;',
        'GRANT USAGE ON SCHEMA astm TO anon;',
        'GRANT USAGE ON SCHEMA public TO anon;',
        'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO anon;',
        'GRANT SELECT ON public.depots TO PUBLIC;',
        'GRANT SELECT ON public.depots TO authenticated;',
        'REVOKE ALL ON public.depots FROM anon;',
      ].join('\n'),
    );
    expect(r.issues.map((i) => `${i.line}:${i.rule}:${i.severity}`)).toEqual([
      '1:GRANT_TO_ANON:WARN',
      '2:GRANT_TO_ANON:WARN',
      '4:GRANT_TO_ANON:ERROR',
      '5:GRANT_TO_ANON:ERROR',
    ]);
  });

  it('requires RLS on new tables of exposed schemas, wherever it is enabled in the run', async () => {
    const r = await lintMigrations([
      { path: 'a.sql', sql: 'CREATE TABLE public.x (id int);\nCREATE TABLE public.y (id int);\nCREATE TABLE vigie.z (id int);' },
      { path: 'b.sql', sql: 'ALTER TABLE public.y ENABLE ROW LEVEL SECURITY;' },
    ]);
    expect(r.issues.map((i) => `${i.file}:${i.line}:${i.rule}`)).toEqual(['a.sql:1:TABLE_WITHOUT_RLS']);
  });

  it('treats relations created earlier in the run as new, not as ML_PP contracts', async () => {
    const r = await lintSql(
      'CREATE TABLE public.citernes (id int, localisation text);\nALTER TABLE public.citernes ENABLE ROW LEVEL SECURITY;\nALTER TABLE public.citernes DROP COLUMN localisation;',
    );
    expect(r.issues).toEqual([]);
  });

  it('flags ADD COLUMN NOT NULL without default, TRUNCATE, SET SCHEMA and DROP TRIGGER on protected relations only', async () => {
    const r = await lintSql(
      [
        'ALTER TABLE public.receptions ADD COLUMN x int NOT NULL;',
        'ALTER TABLE public.receptions ADD COLUMN y int NOT NULL DEFAULT 0;',
        'TRUNCATE public.stocks_journaliers;',
        'ALTER TABLE public.logs SET SCHEMA archive;',
        'DROP TRIGGER trg_00_receptions_block_update_delete ON public.receptions;',
        'DROP TABLE IF EXISTS vigie.scratch;',
      ].join('\n'),
    );
    expect(rulesAt(r.issues)).toEqual(['1:DESTRUCTIVE_CHANGE', '3:DESTRUCTIVE_CHANGE', '4:DESTRUCTIVE_CHANGE', '5:DESTRUCTIVE_CHANGE']);
  });

  it('uses a configurable list of protected relations', async () => {
    const sql = 'DROP TABLE public.citernes;\nDROP TABLE app.contrats;';
    expect(rulesAt((await lintSql(sql, { protectedRelations: ['app.contrats'] })).issues)).toEqual(['2:DESTRUCTIVE_CHANGE']);
  });

  it('flags an annotation that annotates nothing', async () => {
    const r = await lintSql('SELECT 1;\n-- vigie:allow-destructive reason: plus rien après cette ligne\n');
    expect(rulesAt(r.issues)).toEqual(['2:ANNOTATION_UNUSED']);
  });

  it('renders one line per issue and a summary, in French or English', async () => {
    const r = await lintSql('\nALTER TABLE public.citernes DISABLE ROW LEVEL SECURITY;');
    expect(renderLintText(r)).toBe(
      'm.sql:2:1  ERROR  RLS_DISABLED  ALTER TABLE public.citernes DISABLE ROW LEVEL SECURITY : toutes les lignes deviennent accessibles selon les seuls GRANT (anon compris).\n' +
        '1 fichier(s), 1 instruction(s) : 1 ERROR, 0 WARN, 0 INFO.\n',
    );
    expect(renderLintText(r, 'en')).toContain('1 file(s), 1 statement(s): 1 ERROR, 0 WARN, 0 INFO.');
  });
});
