#!/bin/sh
# Nightly pause of non-production databases (and the morning resume), with the CLI. Needs jq.
#   allotrope login … once (or ALLOTROPE_URL / ALLOTROPE_CLIENT_ID / ALLOTROPE_CLIENT_SECRET), then
#   nightly-pause.sh pause|resume
# cron: 0 20 * * 1-5  nightly-pause.sh pause     and     0 7 * * 1-5  nightly-pause.sh resume
set -eu
action=${1:-pause}
case "$action" in pause) state=running ;; resume) state=paused ;; *) echo "usage: $0 pause|resume" >&2; exit 2 ;; esac
status=0
for env in $(allotrope environments list -o json | jq -r '.[] | select(.type != "production") | .id'); do
  for db in $(allotrope databases list --environment "$env" --state "$state" -o json | jq -r '.[].id'); do
    # --wait: exit code 1 and the server's message if the operation fails; go on with the others.
    allotrope databases "$action" "$db" --wait -o json >/dev/null || status=1
  done
done
exit $status
