# Shared by up.sh, test.sh and .ci/run: a suitable Node, dependencies, and the
# machine's PostgreSQL and Redis running. Sourced, not executed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

say() { printf '\033[1m▸ %s\033[0m\n' "$*"; }

# Dependencies, including Node 24 from the npm registry's `node` package: the
# machine's own Node may be older. npm scripts and the lines below put
# node_modules/.bin first on PATH, so every Vigie process runs on it.
ensure_deps() {
  local stamp=node_modules/.vigie-lock
  if [ ! -d node_modules ] || ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
    # `npm install` with the committed lock installs exactly the locked
    # versions. Not `npm ci`: this npm writes lockfiles without the other
    # platforms' optional binaries (biome, turbo) and `npm ci` then refuses them.
    say "Installation des dépendances (versions du package-lock.json)"
    npm install --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
  fi
  export PATH="$ROOT/node_modules/.bin:$PATH"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 22 ]; then
    echo "Node $(node --version) trouvé ; Vigie demande Node 22 ou 24 (node_modules/.bin/node manquant ?)" >&2
    exit 1
  fi
}

pg_url() { echo "${VIGIE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"; }

ensure_services() {
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    say "Démarrage de PostgreSQL"
    if command -v pg_ctlcluster >/dev/null; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    fi
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL injoignable sur 127.0.0.1:5432" >&2; exit 1; }
  fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "Démarrage de Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "Redis injoignable sur 127.0.0.1:6379" >&2; exit 1; }
  fi
}

build() {
  say "Compilation"
  npm run build --silent
}
