#!/bin/sh
# Disaster-recovery drill, with the CLI (needs jq): snapshot production, restore it into a fresh database in
# a drill environment, count its nodes, remove the drill database.
#   PROD_DB=<id or name> DRILL_ENV=<environment id or label> dr-drill.sh
set -eu
snapshot=$(allotrope snapshots create "$PROD_DB" --label "dr-drill $(date +%F)" --wait -o json)
snapshot_id=$(echo "$snapshot" | jq -r .id)
expected=$(echo "$snapshot" | jq -r .counts.nodes)
plan=$(allotrope databases get "$PROD_DB" -o json | jq -r .plan)
drill=$(allotrope databases create --name "dr-drill-$(date +%s)" --plan "$plan" --environment "$DRILL_ENV" --from-snapshot "$snapshot_id" --wait -o json)
drill_id=$(echo "$drill" | jq -r .database.id)
trap 'allotrope databases delete "$drill_id" --wait -o json >/dev/null' EXIT
echo 'MATCH (n) RETURN count(n) AS nodes;' | ALLOTROPE_DB_PASSWORD=$(echo "$drill" | jq -r .credentials.password) \
  allotrope databases connect "$drill_id" | tee /dev/stderr | grep -q "^ *$expected *\$"
echo "drill passed: $expected nodes restored"
