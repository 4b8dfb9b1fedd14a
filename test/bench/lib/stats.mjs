// Percentiles and plain-text tables.

export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** p50 / p95 / p99 / max / mean of a list of numbers (ms). */
export function summary(values) {
  const s = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s[s.length - 1], mean };
}

export function fmt(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (typeof v === 'string') return v;
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return v.toFixed(digits);
}

export function ratio(a, b) {
  if (a === null || b === null || a === undefined || b === undefined || !b) return null;
  return a / b;
}

export function fmtRatio(r) {
  return r === null || r === undefined ? '—' : `×${r >= 10 ? Math.round(r) : r.toFixed(2)}`;
}

/** A Markdown-style text table: columns are [header, key | (row) => value]. */
export function table(title, columns, rows) {
  const cells = rows.map((r) => columns.map(([, k]) => String(typeof k === 'function' ? k(r) : (r[k] ?? '—'))));
  const heads = columns.map(([h]) => h);
  const w = heads.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (vals) => `| ${vals.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join(' | ')} |`;
  const sep = `|${w.map((n, i) => (i === 0 ? `:${'-'.repeat(n + 1)}` : `${'-'.repeat(n + 1)}:`)).join('|')}|`;
  return [`\n${title}`, line(heads), sep, ...cells.map(line)].join('\n');
}
