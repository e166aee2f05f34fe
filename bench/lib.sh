# Shared by the bench scripts: start a hub and wait for its readiness line, stop everything on exit.
# Source it after setting `hub` (the binary). Uses only loopback and temporary directories.

KEY='!ChangeThisMercureHubJWTSecretKey!'
BENCH_TMP=$(mktemp -d /tmp/mercure-bench.XXXXXX)
HUB_PID=
REDIS_PID=
cleanup() {
  [[ -n $HUB_PID ]] && kill -TERM "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
  [[ -n $REDIS_PID ]] && kill -TERM "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_hub LOGNAME TRANSPORT_URL [hub args...]: sets HUB_PID and HUB_PORT.
start_hub() {
  local log="$BENCH_TMP/$1.log" url=$2
  shift 2
  : >"$log"
  ADDR=127.0.0.1:0 CADDY_ADMIN=off GRACE_PERIOD=0 JWT_KEY="$KEY" ALLOW_ANONYMOUS=1 TRANSPORT_URL="$url" ${HUB_TASKSET:-} "$hub" "$@" 2>"$log" >/dev/null &
  HUB_PID=$!
  local deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    if HUB_PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$'); then return 0; fi
    kill -0 "$HUB_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "the hub did not start; its log:" >&2
  cat "$log" >&2
  exit 1
}

stop_hub() {
  kill -TERM "$HUB_PID" && wait "$HUB_PID" || true
  HUB_PID=
}

# start_redis [redis-server args...]: a redis-server on a free loopback port, its files in
# BENCH_TMP; sets REDIS_PID and REDIS_PORT. Stopped on exit.
start_redis() {
  REDIS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$BENCH_TMP/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --dir "$BENCH_TMP/redis" "$@" \
    >"$BENCH_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  local deadline=$((SECONDS + 15))
  while ((SECONDS < deadline)); do
    grep -q 'Ready to accept connections' "$BENCH_TMP/redis.log" && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "redis-server did not start; its log:" >&2
  cat "$BENCH_TMP/redis.log" >&2
  exit 1
}

stop_redis() {
  [[ -n $REDIS_PID ]] || return 0
  kill -TERM "$REDIS_PID" && wait "$REDIS_PID" || true
  REDIS_PID=
  rm -rf "$BENCH_TMP/redis"
}

publisher_token() {
  "$hub" token --key "$KEY" --publish '*'
}
