import { describe, expect, it } from 'vitest';
import {
  findProfilsIdUidComparisons,
  hasNullAuthDisjunct,
  isAlwaysTrue,
  parseExpression,
  referencesUserMetadata,
} from './policy-expr.js';

const alwaysTrue = async (e: string) => isAlwaysTrue(await parseExpression(e));
const nullDisjunct = async (e: string) => hasNullAuthDisjunct(await parseExpression(e));
const profilsBug = async (e: string, table = 'system_alerts') => findProfilsIdUidComparisons(await parseExpression(e), table);

describe('policy expressions, analysed on the parser AST', () => {
  it('recognises always-true expressions as pg_get_expr prints them', async () => {
    expect(await alwaysTrue('true')).toBe(true);
    expect(await alwaysTrue('(true)')).toBe(true);
    expect(await alwaysTrue('(1 = 1)')).toBe(true);
    expect(await alwaysTrue("('a'::text = 'a'::text)")).toBe(true);
    expect(await alwaysTrue("'t'::boolean")).toBe(true);
    expect(await alwaysTrue('(true OR (owner = auth.uid()))')).toBe(true);
    expect(await alwaysTrue('(true AND true)')).toBe(true);
  });

  it('does not call conditional expressions always true', async () => {
    expect(await alwaysTrue('false')).toBe(false);
    expect(await alwaysTrue('(1 = 2)')).toBe(false);
    expect(await alwaysTrue('(owner = auth.uid())')).toBe(false);
    expect(await alwaysTrue('(true AND (owner = auth.uid()))')).toBe(false);
    expect(await alwaysTrue('(app_uid() IS NOT NULL)')).toBe(false);
  });

  it('finds a top-level "auth.uid() IS NULL" disjunct, wrapped or not', async () => {
    expect(await nullDisjunct('((auth.uid() IS NULL) OR (owner = auth.uid()))')).toBe(true);
    expect(await nullDisjunct('((( SELECT auth.uid() AS uid) IS NULL) OR (owner = auth.uid()))')).toBe(true);
    expect(await nullDisjunct("((current_setting('request.jwt.claims', true) IS NULL) OR false)")).toBe(true);
    expect(await nullDisjunct('((NOT (auth.uid() IS NOT NULL)) OR (owner = auth.uid()))')).toBe(true);
  });

  it('ignores IS NULL checks that are gated by AND or that do not concern auth', async () => {
    expect(await nullDisjunct('((auth.uid() IS NOT NULL) AND (owner = auth.uid()))')).toBe(false);
    expect(await nullDisjunct('((owner IS NULL) OR (owner = auth.uid()))')).toBe(false);
    expect(await nullDisjunct('((x = 1) AND ((auth.uid() IS NULL) OR (owner = auth.uid())))')).toBe(false);
  });

  it('detects user_metadata in a security expression', async () => {
    expect(referencesUserMetadata(await parseExpression("(((auth.jwt() -> 'user_metadata'::text) ->> 'role'::text) = 'admin'::text)"))).toBe(true);
    expect(referencesUserMetadata(await parseExpression("(((auth.jwt() -> 'app_metadata'::text) ->> 'role'::text) = 'admin'::text)"))).toBe(false);
  });

  it('finds ML_PP’s profils.id = auth.uid() bug through aliases, sub-selects and helpers', async () => {
    expect(await profilsBug("(EXISTS ( SELECT 1 FROM profils p WHERE ((p.id = auth.uid()) AND (p.role = ANY (ARRAY['admin'::text])))))")).toHaveLength(1);
    expect(await profilsBug('(EXISTS ( SELECT 1 FROM public.profils WHERE (profils.id = ( SELECT auth.uid() AS uid))))')).toHaveLength(1);
    expect(await profilsBug('(EXISTS ( SELECT 1 FROM profils pr WHERE (app_uid() = pr.id)))')).toHaveLength(1);
    expect(await profilsBug('(id = auth.uid())', 'profils')).toHaveLength(1);
    expect(await profilsBug("(EXISTS ( SELECT 1 FROM profils p WHERE (p.id = (current_setting('request.jwt.claim.sub', true))::uuid)))")).toHaveLength(1);
  });

  it('accepts the correct profils.user_id comparison and ids of other tables', async () => {
    expect(await profilsBug('(EXISTS ( SELECT 1 FROM profils p WHERE (p.user_id = auth.uid())))')).toHaveLength(0);
    expect(await profilsBug('(id = auth.uid())', 'documents')).toHaveLength(0);
    expect(await profilsBug('(EXISTS ( SELECT 1 FROM citernes c WHERE (c.id = auth.uid())))')).toHaveLength(0);
  });
});
