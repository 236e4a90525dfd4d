#!/usr/bin/env bash
# The container path, run for real (`npm run test:docker`; .ci/run runs it after
# `npm test`): starts a private Docker engine, loads local stand-ins for the
# public base images (test/docker/standins/build.sh), runs test/docker/*.test.ts
# against it, checks that the tests left no container, network or image behind,
# and stops the engine by its PID. Needs root, Debian's docker.io,
# docker-compose (v1) and debootstrap, and `npm ci` done.
#
# When the engine cannot be started here (not root, packages missing, dockerd
# refusing to run) it says why and counts as skipped, except in CI (CI=true),
# where that is a failure: CI's machines run it.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { echo "[docker] $*"; }
cannot_run() {
  if [ "${CI:-}" = "true" ]; then
    log "FAILED: cannot start a Docker engine: $*"
    exit 1
  fi
  log "skipped: cannot start a Docker engine: $*"
  exit 0
}
now() { date +%s; }
t0=$(now)

[ "$(id -u)" -eq 0 ] || cannot_run "dockerd needs root"
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
[ "${#missing[@]}" -eq 0 ] || cannot_run "missing packages: apt-get install ${missing[*]}"
# The CLI of docker.io (the engine's version): a newer client may come first on PATH.
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=$(command -v docker); fi
export DOCKER COMPOSE=docker-compose
# The classic builder: BuildKit would fetch the frontend named by the Dockerfile's
# `# syntax=` line from a registry, which is out of reach here (the line is only a hint).
export DOCKER_BUILDKIT=0

# --- the engine: its own sockets and directories, no iptables, no default bridge --------
state=$(mktemp -d /tmp/roomcast-docker.XXXXXX)
export DOCKER_HOST="unix://$state/docker.sock"
dockerd_pid=

stop_engine() {
  local status=$? pid
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    kill -TERM "$dockerd_pid"
    for _ in $(seq 1 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      log "dockerd ($dockerd_pid) still running after 30 s: SIGKILL"
      kill -KILL "$dockerd_pid" 2>/dev/null || true
    fi
    wait "$dockerd_pid" 2>/dev/null || true
    log "engine stopped (dockerd pid $dockerd_pid)"
  fi
  # The containerd that dockerd started outlives a killed dockerd; its pid file is
  # under our exec root, and its command line names that root.
  pid=$(cat "$state/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$state/exec"; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  # dockerd leaves its network namespace mounted under the exec root.
  findmnt -rn -o TARGET | grep -F "$state/" | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$state"
  exit "$status"
}
trap stop_engine EXIT
trap 'exit 130' INT TERM

dockerd --storage-driver=overlay2 --iptables=false --ip6tables=false --bridge=none \
  --data-root "$state/data" --exec-root "$state/exec" --pidfile "$state/dockerd.pid" \
  -H "$DOCKER_HOST" >"$state/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 120); do
  "$DOCKER" version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$state/dockerd.log"; cannot_run "dockerd exited at start (log above)"; }
  sleep 0.5
done
"$DOCKER" version >/dev/null 2>&1 || { tail -20 "$state/dockerd.log"; cannot_run "dockerd did not answer within 60 s"; }
engine_version=$("$DOCKER" version --format '{{.Server.Version}}')
t_engine=$(now)
log "engine $engine_version (dockerd pid $dockerd_pid, $DOCKER_HOST), $(docker-compose version --short 2>/dev/null | head -1 | sed 's/^/docker-compose /')"

# --- stand-ins for the public base images -------------------------------------------------
bash test/docker/standins/build.sh
t_standins=$(now)
baseline=$("$DOCKER" images -qa --no-trunc | sort)

# --- the tests -----------------------------------------------------------------------------
status=0
npx vitest run --config test/docker/vitest.config.ts || status=$?
t_tests=$(now)

# --- nothing of the tests' left behind -----------------------------------------------------
left=$("$DOCKER" ps -aq)
[ -z "$left" ] || { log "FAILED: containers left behind:"; "$DOCKER" ps -a; status=1; }
left=$("$DOCKER" network ls -q --filter type=custom)
[ -z "$left" ] || { log "FAILED: networks left behind:"; "$DOCKER" network ls --filter type=custom; status=1; }
if [ "$("$DOCKER" images -qa --no-trunc | sort)" != "$baseline" ]; then
  log "FAILED: images left behind besides the stand-ins:"; "$DOCKER" images -a; status=1
fi

log "durations: engine start $((t_engine - t0)) s, stand-ins $((t_standins - t_engine)) s, tests $((t_tests - t_standins)) s"
exit "$status"
