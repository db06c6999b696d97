# shellcheck shell=bash
#
# scripts/lib/services.sh — throwaway PostgreSQL and Redis for tests and local development.
#
# Source this file; do not execute it. Functions:
#
#   ensure_redis          install redis-server (and redis-cli) with apt-get when missing
#   ensure_postgres       locate initdb/pg_ctl/postgres (install PostgreSQL when missing); sets PG_BIN
#   start_services DIR    start PostgreSQL and Redis on free loopback ports with all their files in
#                         DIR (a fresh, empty directory); exports TEST_DATABASE_URL and TEST_REDIS_URL
#   services_alive        are both services still running?
#   stop_services         stop whatever start_services started; idempotent, never fails, trap-safe
#
# Everything is logged to stderr with a "services:" prefix. The functions work under
# `set -euo pipefail` and without it.

# State shared between start_services and stop_services (deliberately not exported).
SB_SERVICES_DIR=""
SB_PG_DATA=""
SB_PG_LOG=""
SB_REDIS_PIDFILE=""
SB_REDIS_PID=""
SB_REDIS_LOG=""
SB_APT_UPDATED=0

_sb_log() {
    printf 'services: %s\n' "$*" >&2
}

# Run apt-get non-interactively (CI has no stdin). Runs `apt-get update` at most once per shell.
_sb_apt_install() {
    if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
        _sb_log "cannot install $* with apt-get: not running as root; please install it yourself"
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _sb_log "cannot install $*: apt-get not found; please install it yourself"
        return 1
    fi
    if [[ $SB_APT_UPDATED -eq 0 ]]; then
        _sb_log "apt-get update -qq"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
        SB_APT_UPDATED=1
    fi
    _sb_log "apt-get install -y -qq $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

ensure_redis() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return 0
    fi
    _sb_log "redis-server not found on PATH; installing it"
    # redis-server depends on redis-tools, which ships redis-cli.
    _sb_apt_install redis-server redis-tools || return 1
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        _sb_log "redis-server/redis-cli still not found after installing redis-server"
        return 1
    fi
    _sb_log "installed $(redis-server --version | head -n 1)"
}

# Print the directory holding initdb, pg_ctl and postgres, or fail.
_sb_find_pg_bin() {
    local dir
    if [[ -x /usr/local/bin/initdb && -x /usr/local/bin/pg_ctl && -x /usr/local/bin/postgres ]]; then
        printf '%s\n' /usr/local/bin
        return 0
    fi
    # Newest major version first (sort -V: 9.6 < 15 < 16).
    while IFS= read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -rV)
    return 1
}

ensure_postgres() {
    local found
    if ! found=$(_sb_find_pg_bin); then
        _sb_log "PostgreSQL (initdb, pg_ctl, postgres) not found; installing it"
        _sb_apt_install postgresql || return 1
        if ! found=$(_sb_find_pg_bin); then
            _sb_log "initdb/pg_ctl/postgres still not found after installing postgresql"
            return 1
        fi
    fi
    PG_BIN=$found
    export PG_BIN
    _sb_log "using PostgreSQL from $PG_BIN ($("$PG_BIN/postgres" --version))"
}

# Is something accepting connections on 127.0.0.1:$1?
_sb_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Print a free TCP port on 127.0.0.1. Asks the kernel (bind to port 0) when python3 is available,
# otherwise tries random ports in 20000-59999. Either way the caller retries if the port gets taken
# between this check and the server's bind.
_sb_free_port() {
    local port i
    if command -v python3 >/dev/null 2>&1; then
        if port=$(python3 - <<'PY' 2>/dev/null
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
        ) && [[ $port =~ ^[0-9]+$ ]] && ! _sb_port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    fi
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        if ! _sb_port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    _sb_log "could not find a free port"
    return 1
}

# Run a command as the PostgreSQL owner: the `postgres` system user when we are root (PostgreSQL
# refuses to run as root), ourselves otherwise. Runs from DIR so that the postgres user never
# starts in a directory it cannot read (e.g. /root).
_sb_as_pg() {
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        (cd "$SB_SERVICES_DIR" 2>/dev/null || cd /; runuser -u postgres -- "$@")
    else
        (cd "$SB_SERVICES_DIR" 2>/dev/null || cd /; "$@")
    fi
}

# Is process $1 running? A zombie is not: daemons we start are reparented to PID 1, which may
# take a while to reap them, and `kill -0` alone would report a zombie as alive.
_sb_pid_running() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    if [[ -r /proc/$1/stat ]] && read -r stat <"/proc/$1/stat" 2>/dev/null; then
        stat=${stat##*) }
        [[ ${stat%% *} != Z ]]
    else
        return 0
    fi
}

_sb_print_log() {
    local name=$1 file=$2
    if [[ -s $file ]]; then
        _sb_log "----- $name log ($file) -----"
        tail -n 50 "$file" >&2 || true
        _sb_log "----- end of $name log -----"
    else
        _sb_log "($name log $file is empty or missing)"
    fi
}

_sb_start_postgres() {
    local pg_root=$SB_SERVICES_DIR/postgres attempt port
    if [[ -z ${PG_BIN:-} ]]; then
        ensure_postgres || return 1
    fi
    if [[ ${EUID:-$(id -u)} -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        _sb_log "creating system user postgres"
        useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
            --shell /usr/sbin/nologin postgres || return 1
    fi

    mkdir -p "$pg_root/data" "$pg_root/sock" || return 1
    chmod 0700 "$pg_root/data" || return 1
    if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
        chown -R postgres: "$pg_root" || return 1
    fi
    SB_PG_LOG=$pg_root/postgres.log

    _sb_log "initdb $pg_root/data"
    if ! _sb_as_pg "$PG_BIN/initdb" -D "$pg_root/data" -U postgres --auth=trust -E UTF8 \
        --no-sync >"$pg_root/initdb.log" 2>&1; then
        _sb_log "initdb failed"
        _sb_print_log initdb "$pg_root/initdb.log"
        return 1
    fi
    SB_PG_DATA=$pg_root/data

    for attempt in 1 2 3; do
        port=$(_sb_free_port) || return 1
        _sb_log "starting PostgreSQL on 127.0.0.1:$port (attempt $attempt)"
        rm -f "$SB_PG_LOG"
        if _sb_as_pg "$PG_BIN/pg_ctl" -D "$SB_PG_DATA" -l "$SB_PG_LOG" -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k '$pg_root/sock' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
            -w start >&2; then
            TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
            export TEST_DATABASE_URL
            return 0
        fi
        # pg_ctl gave up: make sure nothing half-started is left before retrying on another port.
        _sb_as_pg "$PG_BIN/pg_ctl" -D "$SB_PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
        if ! grep -qi 'address already in use' "$SB_PG_LOG" 2>/dev/null; then
            break
        fi
    done
    _sb_log "PostgreSQL failed to start"
    _sb_print_log PostgreSQL "$SB_PG_LOG"
    return 1
}

_sb_start_redis() {
    local attempt port i
    SB_REDIS_PIDFILE=$SB_SERVICES_DIR/redis.pid
    SB_REDIS_LOG=$SB_SERVICES_DIR/redis.log
    for attempt in 1 2 3; do
        port=$(_sb_free_port) || return 1
        _sb_log "starting Redis on 127.0.0.1:$port (attempt $attempt)"
        : >"$SB_REDIS_LOG"
        if redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' \
            --appendonly no --pidfile "$SB_REDIS_PIDFILE" --logfile "$SB_REDIS_LOG" \
            --dir "$SB_SERVICES_DIR" >&2; then
            # Up to 20 s for PONG; stop early if the daemon died (e.g. the port got taken).
            for ((i = 0; i < 100; i++)); do
                if [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] &&
                    _sb_redis_is_ours "$port"; then
                    SB_REDIS_PID=$(_sb_redis_pid)
                    TEST_REDIS_URL="redis://127.0.0.1:$port"
                    export TEST_REDIS_URL
                    return 0
                fi
                if ((i >= 25)) && ! _sb_redis_alive; then
                    break
                fi
                sleep 0.2
            done
        fi
        _sb_stop_redis
        if ! grep -qi 'address already in use' "$SB_REDIS_LOG" 2>/dev/null; then
            break
        fi
    done
    _sb_log "Redis failed to start"
    _sb_print_log Redis "$SB_REDIS_LOG"
    return 1
}

# The pid of our Redis: remembered once it is up (Redis deletes its pidfile while shutting down),
# read from the pidfile before that.
_sb_redis_pid() {
    local pid=$SB_REDIS_PID
    if [[ -z $pid ]] && [[ -n $SB_REDIS_PIDFILE && -s $SB_REDIS_PIDFILE ]]; then
        read -r pid <"$SB_REDIS_PIDFILE" 2>/dev/null || true
    fi
    [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
}

# Does the Redis answering on port $1 have the pid our pidfile names (not someone else's server)?
_sb_redis_is_ours() {
    local pid served
    pid=$(_sb_redis_pid) || return 1
    served=$(redis-cli -h 127.0.0.1 -p "$1" info server 2>/dev/null | tr -d '\r' |
        sed -n 's/^process_id://p')
    [[ $served == "$pid" ]]
}

_sb_redis_alive() {
    local pid
    pid=$(_sb_redis_pid) && _sb_pid_running "$pid"
}

_sb_stop_redis() {
    local pid i
    pid=$(_sb_redis_pid) || return 0
    if ! kill -TERM "$pid" 2>/dev/null; then
        rm -f "$SB_REDIS_PIDFILE"
        SB_REDIS_PID=""
        return 0
    fi
    for ((i = 0; i < 50; i++)); do
        _sb_pid_running "$pid" || break
        sleep 0.1
    done
    if _sb_pid_running "$pid"; then
        _sb_log "Redis (pid $pid) did not stop; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$SB_REDIS_PIDFILE"
    SB_REDIS_PID=""
    return 0
}

_sb_stop_postgres() {
    local pid="" i
    [[ -n $SB_PG_DATA && -d $SB_PG_DATA ]] || return 0
    [[ -f $SB_PG_DATA/postmaster.pid ]] || return 0
    read -r pid <"$SB_PG_DATA/postmaster.pid" 2>/dev/null || true
    _sb_as_pg "${PG_BIN:-/usr/local/bin}/pg_ctl" -D "$SB_PG_DATA" -m immediate -w -t 20 stop \
        >/dev/null 2>&1 || true
    # Belt and braces: pg_ctl may be missing or may have given up.
    if [[ $pid =~ ^[0-9]+$ ]] && _sb_pid_running "$pid"; then
        kill -QUIT "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            _sb_pid_running "$pid" || break
            sleep 0.1
        done
        if _sb_pid_running "$pid"; then
            _sb_log "PostgreSQL (pid $pid) did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    return 0
}

# Are both services started by start_services still running? (For long-running callers.)
services_alive() {
    _sb_redis_alive || return 1
    [[ -n $SB_PG_DATA ]] &&
        _sb_as_pg "${PG_BIN:-/usr/local/bin}/pg_ctl" -D "$SB_PG_DATA" status >/dev/null 2>&1
}

start_services() {
    local dir=${1:-}
    if [[ -z $dir || ! -d $dir ]]; then
        _sb_log "usage: start_services DIR (an existing, empty directory)"
        return 2
    fi
    SB_SERVICES_DIR=$(cd "$dir" && pwd) || return 1
    # The postgres user must be able to reach its data directory inside DIR.
    chmod 0755 "$SB_SERVICES_DIR" || return 1
    command -v redis-server >/dev/null 2>&1 || ensure_redis || return 1

    _sb_start_postgres || return 1
    _sb_start_redis || return 1
    _sb_log "PostgreSQL: $TEST_DATABASE_URL"
    _sb_log "Redis:      $TEST_REDIS_URL"
}

stop_services() {
    # Never fail and never trip `set -e` in the caller's trap.
    if [[ -n $SB_REDIS_PID || -n $SB_PG_DATA ]]; then
        _sb_log "stopping PostgreSQL and Redis"
    fi
    local pid
    # Ask Redis to shut down first so that it exits while PostgreSQL is being stopped.
    if pid=$(_sb_redis_pid); then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    _sb_stop_postgres || true
    _sb_stop_redis || true
    SB_REDIS_PIDFILE=""
    SB_PG_DATA=""
    return 0
}
