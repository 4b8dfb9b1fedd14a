-- 0004_astm.sql
-- Volume at 15 degC. ML_PP computes it in the database from an ASTM lookup
-- grid (API MPMS 11.1). This reference database uses its own deterministic,
-- simplified model instead (no grid, no iteration):
--
--   alpha(rho) = 186.9696 / rho^2 + 0.4862 / rho        (1/degC; API 11.1 "fuel oils" constants)
--   VCF        = 1 - alpha(rho) * (T - 15)               (linear thermal-expansion correction)
--   V15        = V_ambient * VCF
--
-- with rho the OBSERVED density in kg/m3 and T the product temperature in
-- degC. The valid domain is ML_PP's: 820-860 kg/m3 and 10-40 degC; input
-- outside it raises ASTM_HORS_DOMAINE. Receptions are rounded to 0.1 L and
-- sorties to whole litres by the callers (0006, 0007). Within the domain the
-- correction stays under 2.3 %, so a legitimate movement never shows a
-- 15 degC gap above 5 %.

CREATE SCHEMA IF NOT EXISTS astm;

CREATE OR REPLACE FUNCTION astm.check_domain(p_temperature_c double precision, p_densite_kgm3 double precision)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF p_densite_kgm3 IS NULL OR p_densite_kgm3 < 820 OR p_densite_kgm3 > 860 THEN
    RAISE EXCEPTION 'ASTM_HORS_DOMAINE: densité observée % kg/m3 hors du domaine 820-860 kg/m3', p_densite_kgm3
      USING ERRCODE = '22003';
  END IF;
  IF p_temperature_c IS NULL OR p_temperature_c < 10 OR p_temperature_c > 40 THEN
    RAISE EXCEPTION 'ASTM_HORS_DOMAINE: température % °C hors du domaine 10-40 °C', p_temperature_c
      USING ERRCODE = '22003';
  END IF;
END
$$;

-- Volume correction factor from observed temperature and density.
CREATE OR REPLACE FUNCTION astm.vcf(p_temperature_c double precision, p_densite_kgm3 double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  v_alpha double precision;
BEGIN
  PERFORM astm.check_domain(p_temperature_c, p_densite_kgm3);
  v_alpha := 186.9696 / (p_densite_kgm3 * p_densite_kgm3) + 0.4862 / p_densite_kgm3;
  RETURN 1 - v_alpha * (p_temperature_c - 15);
END
$$;

-- Volume at 15 degC, rounded to p_decimals (1 for receptions, 0 for sorties),
-- half away from zero.
CREATE OR REPLACE FUNCTION astm.volume_15c(
  p_volume_ambiant double precision,
  p_temperature_c  double precision,
  p_densite_kgm3   double precision,
  p_decimals       integer DEFAULT 1
) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF p_volume_ambiant IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN round((p_volume_ambiant * astm.vcf(p_temperature_c, p_densite_kgm3))::numeric, p_decimals)::double precision;
END
$$;

-- ML_PP's migration 20260404130000 grants anon SELECT/EXECUTE on schema astm;
-- mirrored here on purpose.
GRANT USAGE ON SCHEMA astm TO anon, authenticated, service_role;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA astm TO anon, authenticated, service_role;
