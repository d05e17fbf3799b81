#!/bin/sh
# Weekly restore of production into staging, with the CLI (needs jq).
#   PROD_DB=<id or name> STAGING_DB=<id or name> staging-refresh.sh
# cron: 0 4 * * 1
set -eu
snapshot_id=$(allotrope snapshots create "$PROD_DB" --label "staging refresh $(date +%F)" --wait -o json | jq -r .id)
allotrope snapshots restore "$PROD_DB" "$snapshot_id" --target "$STAGING_DB" --wait
