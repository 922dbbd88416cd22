#!/usr/bin/env bash
# Starts or stops a Docker engine for the tests, on its own socket, without a bridge network or iptables rules.
#   eval "$(scripts/dockerd.sh start)"   prints `export DOCKER_HOST=…` once `docker info` answers
#   scripts/dockerd.sh stop              stops the engine only if `start` started it
set -euo pipefail

run_dir=${SLOTWATCH_DOCKER_RUN:-/run/slotwatch-docker}
data_dir=${SLOTWATCH_DOCKER_DATA:-/var/lib/slotwatch-docker}
log=${SLOTWATCH_DOCKER_LOG:-$run_dir/dockerd.log}
timeout_s=${SLOTWATCH_DOCKER_TIMEOUT:-60}
host="unix://$run_dir/docker.sock"

answers() { DOCKER_HOST="$1" timeout 10 docker info >/dev/null 2>&1; }

start() {
  if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then
    echo "export DOCKER_HOST=$DOCKER_HOST"
    return
  fi
  for existing in unix:///var/run/docker.sock "$host"; do
    if answers "$existing"; then
      echo "export DOCKER_HOST=$existing"
      return
    fi
  done
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd is not installed (apt-get install docker.io)" >&2
    return 1
  fi
  mkdir -p "$run_dir" "$data_dir"
  dockerd --host "$host" --data-root "$data_dir" --exec-root "$run_dir/exec" \
    --pidfile "$run_dir/dockerd.pid" --bridge none --iptables=false >"$log" 2>&1 &
  echo $! >"$run_dir/started-by-slotwatch"
  local deadline=$((SECONDS + timeout_s))
  until answers "$host"; do
    if ! kill -0 "$(cat "$run_dir/started-by-slotwatch")" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "dockerd did not answer within ${timeout_s}s; last lines of $log:" >&2
      tail -n 20 "$log" >&2 || true
      stop
      return 1
    fi
    sleep 0.5
  done
  echo "dockerd started in $((SECONDS - deadline + timeout_s))s, log $log" >&2
  echo "export DOCKER_HOST=$host"
}

stop() {
  local marker="$run_dir/started-by-slotwatch"
  [ -f "$marker" ] || return 0
  local pid
  pid=$(cat "$marker")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$marker"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
