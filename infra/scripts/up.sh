#!/usr/bin/env bash
# Vigie's main job on this machine: the ML_PP reference database seeded, all
# services up, alerts flowing (to local sinks when Slack/SMTP are not set).
#   bash infra/scripts/up.sh            # keeps running; Ctrl-C stops everything
#   VIGIE_UP_DETACH=1 bash infra/scripts/up.sh   # starts, then returns
#   VIGIE_DB=vigie_demo VIGIE_UP_FRESH=1 ...     # recreate the demo database
source "$(dirname "$0")/lib.sh"
ensure_deps
ensure_services
build

DB="${VIGIE_DB:-vigie_demo}"
STATE="$ROOT/.vigie"
mkdir -p "$STATE/logs" "$STATE/sink"
ADMIN_URL="$(pg_url | sed "s#/[^/]*\$#/$DB#")"
APP_URL="$(echo "$ADMIN_URL" | sed 's#//[^@/]*@#//vigie_app@#')"

# Stop what a previous run left.
for svc in listener evaluator notifier; do
  if [ -f "$STATE/$svc.pid" ] && kill -0 "$(cat "$STATE/$svc.pid")" 2>/dev/null; then kill "$(cat "$STATE/$svc.pid")" || true; fi
done
sleep 0.5

if [ "${VIGIE_UP_FRESH:-0}" = 1 ]; then
  psql "$(pg_url)" -qc "drop database if exists $DB with (force)" >/dev/null
fi
fresh=0
if ! psql "$(pg_url)" -tAc "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
  say "Création de la base $DB"
  psql "$(pg_url)" -qc "create database $DB" >/dev/null
  fresh=1
fi
if [ "$fresh" = 1 ]; then
  # A new database numbers its outbox events from 1 again: job ids a previous
  # demo left in Redis under the same prefix would swallow them (BullMQ keeps
  # finished job ids a while), so the demo's queues start empty too.
  REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}" PREFIX="${VIGIE_QUEUE_PREFIX:-vigie}" node --input-type=module -e '
    import { Redis } from "ioredis";
    const r = new Redis(process.env.REDIS_URL);
    let n = 0;
    for await (const keys of r.scanStream({ match: `${process.env.PREFIX}:*`, count: 500 })) if (keys.length) n += await r.del(...keys);
    if (n) console.log(`Files Redis de la démonstration vidées (${n} clés, préfixe ${process.env.PREFIX}).`);
    r.disconnect();'
fi

say "Migrations (base de référence ML_PP + Vigie)"
DATABASE_URL="$ADMIN_URL" node packages/cli/dist/bin.js migrate
# Local only: the least-privilege role logs in without password (trust auth).
psql "$(pg_url)" -qc "alter role vigie_app login" >/dev/null

if [ "$fresh" = 1 ]; then
  say "Génération d'un mois d'opérations du dépôt (déterministe)"
  DATABASE_URL="$ADMIN_URL" node packages/cli/dist/bin.js seed --days 30
fi

export APP_ENV="${APP_ENV:-local}" DATABASE_URL="$APP_URL" REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# The services run with the V8 flags of the image (infra/docker/Dockerfile).
export NODE_OPTIONS="${NODE_OPTIONS:---max-semi-space-size=8}"
export VIGIE_SINK_DIR="${VIGIE_SINK_DIR:-$STATE/sink}" LOG_LEVEL="${LOG_LEVEL:-info}"
declare -A PORTS=([listener]=8081 [evaluator]=8082 [notifier]=8083)
for svc in listener evaluator notifier; do
  PORT="${PORTS[$svc]}" node "services/$svc/dist/index.js" >>"$STATE/logs/$svc.log" 2>&1 &
  echo $! >"$STATE/$svc.pid"
done

say "Attente de la disponibilité des services"
for svc in listener evaluator notifier; do
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:${PORTS[$svc]}/ready" >/dev/null 2>&1 && break
    sleep 0.5
  done
  printf '  %-9s %s\n' "$svc" "$(curl -s "http://127.0.0.1:${PORTS[$svc]}/health" || echo 'ne répond pas : voir .vigie/logs')"
done

say "Injection de deux anomalies de démonstration (stock négatif, écart 15 °C)"
DATABASE_URL="$ADMIN_URL" node packages/cli/dist/bin.js seed --reference-only --anomaly STOCK_NEGATIF --anomaly RECEPTION_ECART_15C

cat <<MSG

Vigie tourne sur la base $DB.
  Santé     : http://127.0.0.1:8081/health  (8082 évaluateur, 8083 notificateur ; /ready, /metrics)
  Alertes   : $VIGIE_SINK_DIR/alerts.log (Slack et e-mail non configurés : puits local)
  Journaux  : $STATE/logs/
  CLI       : DATABASE_URL=$ADMIN_URL npx vigie alerts list

Outre les deux anomalies, les règles de sécurité signalent les profils admin et directeur
que le jeu de données a créés en SQL (SEC_ROLE_CHANGED) et, hors heures ouvrées, les
écritures privilégiées de la démonstration (SEC_PRIVILEGED_OFF_HOURS) : c'est ce qu'elles
doivent voir sur une vraie base.
MSG

if [ "${VIGIE_UP_DETACH:-0}" = 1 ]; then exit 0; fi
trap 'for s in listener evaluator notifier; do kill "$(cat "$STATE/$s.pid")" 2>/dev/null || true; done; exit 0' INT TERM
say "Alertes reçues (Ctrl-C pour tout arrêter)"
touch "$VIGIE_SINK_DIR/alerts.log"
tail -n +1 -f "$VIGIE_SINK_DIR/alerts.log" &
wait
