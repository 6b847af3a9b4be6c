# Shared by the bench scripts (source it): where the harness copy lives, its one-time setup, the runtime binaries,
# and the snapshot of the code under test. Callers define log() and die() first.

# HOME_DIR (the harness copy) and HARNESS (its run.sh). The backend nginx runs as root with workers as "nobody",
# which must read the harness's www/16k: as root with a private $HOME (/root is 0700) the default copy would serve
# 403 for /16k, so a world-traversable place is used then.
bench_home() {
  HOME_DIR="${MESHLET_BENCH_HOME:-$HOME/.cache/meshlet-bench}"
  if [ -z "${MESHLET_BENCH_HOME:-}" ] && [ "$(id -u)" = 0 ] && command -v runuser >/dev/null \
     && ! runuser -u nobody -- test -x "$HOME" 2>/dev/null; then
    HOME_DIR=/var/tmp/meshlet-bench
  fi
  HARNESS="$HOME_DIR/run.sh"
}

# The harness copy, set up once from the shared harness (apt tools + a writable copy).
ensure_harness() {
  if [ ! -f "$HARNESS" ]; then
    local shared="${SHARED_BENCH:-}" d
    if [ -z "$shared" ]; then
      for d in "$REPO/../shared/bench" /work/shared/bench; do [ -f "$d/setup.sh" ] && { shared=$d; break; }; done
    fi
    [ -n "$shared" ] && [ -f "$shared/setup.sh" ] || die "harness not found: set SHARED_BENCH to the shared bench folder"
    log "setting up the harness from $shared"
    MESHLET_BENCH_HOME="$HOME_DIR" bash "$shared/setup.sh" >&2
  fi
  [ -f "$HARNESS" ] || die "$HARNESS missing after setup"
}

# The first ELF executable among the candidates: the measured PID must be the runtime itself, not an npm shim.
real_bin() {
  local c r
  for c in "$@"; do
    [ -e "$c" ] || continue
    r="$(readlink -f "$c")"
    [ -x "$r" ] && head -c 4 "$r" 2>/dev/null | grep -q 'ELF' && { echo "$r"; return 0; }
  done
  return 1
}

# BUN and DENO: the binaries of the runtimes `want` asks for (NM = the repo's node_modules).
find_runtimes() {
  BUN="" DENO=""
  if want bun; then
    BUN="$(real_bin "$NM/.bin/bun" "$NM/bun/bin/bun.exe" "$NM/bun/bin/bun" "$NM"/@oven/bun-linux-x64*/bin/bun \
      "$(command -v bun || true)")" || die "no Bun binary (npm install, or --runtimes without bun)"
  fi
  if want deno; then
    DENO="$(real_bin "$NM/.bin/deno" "$NM/deno/deno" "$NM"/@deno/linux-x64*/deno "$(command -v deno || true)")" \
      || die "no Deno binary (npm install, or --runtimes without deno)"
  fi
}

# A copy of the working tree's code under test in $1 (using the repo's node_modules through a symlink), with the
# commit and dirty files recorded in $1/GIT_STATE, so every rep of a run measures the same code.
snapshot_src() {
  local dest=$1 f
  rm -rf "$dest"; mkdir -p "$dest"
  for f in core adapters proto package.json deno.json tsconfig.json tsconfig.build.json tsup.config.ts; do
    [ -e "$REPO/$f" ] && cp -r "$REPO/$f" "$dest/"
  done
  ln -s "$NM" "$dest/node_modules"
  ( cd "$REPO" && { git rev-parse HEAD; git status --short -- core adapters proto; } ) > "$dest/GIT_STATE" 2>/dev/null || true
}

# The command that execs meshlet on runtime $1 with config $2 (in the snapshot's directory); with a profile
# directory $3 the runtime writes CPU profiles there (Node/Bun --cpu-prof, Deno V8's --prof log).
proxy_cmd() {
  local rt=$1 cfg=$2 pd=${3:-} pf=""
  if [ -n "$pd" ]; then
    mkdir -p "$pd"
    case "$rt" in
      node|bun) pf="--cpu-prof --cpu-prof-dir=$pd " ;;
      deno) pf="--v8-flags=--prof,--logfile=$pd/v8.log,--no-logfile-per-isolate " ;;
    esac
  fi
  case "$rt" in
    node) echo "exec node ${pf}dist/node/main.js proxy -c $cfg --no-access-log" ;;
    bun)  echo "exec $BUN ${pf}adapters/bun/main.ts proxy -c $cfg --no-access-log" ;;
    deno) echo "exec $DENO run -A ${pf}adapters/deno/main.ts proxy -c $cfg --no-access-log" ;;
  esac
}
