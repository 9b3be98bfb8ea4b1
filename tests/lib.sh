# Shared shell helpers for integration and chaos tests. Source it; it sets up a temporary
# directory, kills every process the test started when the test ends, and offers:
#   start NAME CMD...         start a process in the background (log in $T/NAME.log)
#   wait_port_file FILE       wait until a service wrote its port file
#   json_get FILE|- KEY       read a top-level key of a JSON document
#   pyc CODE ARGS...          python3 -c CODE ARGS..., run by one python3 that lives as long
#                             as the test (no interpreter start-up per call; no stdin)
#   http GET|POST URL [BODY]  curl, prints the body; sets HTTP_STATUS; sends $TOKEN as a
#                             bearer token when it is set (TOKEN=... http GET URL)
#   wait_until SECS CMD...    poll CMD until it succeeds or SECS pass (then fail)
#   fail MSG                  print MSG and exit 1
#   free_port                 an unused TCP port on 127.0.0.1
set -euo pipefail
BIN=${HOTLINE_BIN:?HOTLINE_BIN must point at the build bin directory}
T=$(mktemp -d /tmp/hotline-test.XXXXXX)
declare -A PIDS=()

AT_EXIT=()   # commands a test adds to run at the end (unmount, ...), after the processes die
cleanup() {
  local rc=$?
  for name in "${!PIDS[@]}"; do kill -9 "${PIDS[$name]}" 2>/dev/null || true; done
  [ -s "$T/pyc.pid" ] && kill "$(cat "$T/pyc.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  local c
  for c in "${AT_EXIT[@]}"; do eval "$c" || true; done
  release_ports
  if [ $rc -ne 0 ]; then
    echo "---- test failed (rc=$rc); last lines of each log in $T ----"
    for f in "$T"/*.log "$T"/*/*.log; do [ -f "$f" ] && { echo "== $f"; tail -n 30 "$f"; }; done
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

start() {
  local name=$1; shift
  "$@" >>"$T/$name.log" 2>&1 &
  PIDS[$name]=$!
}

stop9() { # SIGKILL a started process and reap it
  local name=$1
  kill -9 "${PIDS[$name]}" 2>/dev/null || true
  wait "${PIDS[$name]}" 2>/dev/null || true
  unset "PIDS[$name]"
}

stop_term() { # SIGTERM, wait for a clean exit; fail if it does not exit 0
  local name=$1 rc=0
  kill -TERM "${PIDS[$name]}"
  wait "${PIDS[$name]}" || rc=$?
  unset "PIDS[$name]"
  [ $rc -eq 0 ] || fail "$name exited with $rc after SIGTERM"
}

wait_until() {
  local secs=$1; shift
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${secs}s waiting for: $*"
    sleep 0.1
  done
}

wait_port_file() { wait_until 30 test -s "$1"; }

# pyc: each python3 start-up costs 50-150 ms of CPU (more behind a pyenv shim), and the tests
# check JSON and XML answers with python3 hundreds of times. One interpreter, started here and
# gone with the test (it also leaves on its own once the test's shell is gone), runs every pyc
# call: the request (cwd, code, args) goes NUL-separated down the FIFO $T/py.req, the answer
# (exit status, stdout, stderr) comes back the same way on $T/py.resp; a lock keeps calls from
# background jobs apart. The code runs as `python3 -c` would run it: fresh globals, sys.argv
# = ["-c", ARGS...], sys.exit and exceptions give the exit status (a traceback on stderr).
mkfifo "$T/py.req" "$T/py.resp"
( python3 -c '
import builtins, contextlib, io, os, select, sys, traceback
req, resp = os.open(sys.argv[1], os.O_RDWR), os.open(sys.argv[2], os.O_RDWR)
owner, buf, compiled = int(sys.argv[3]), b"", {}
def field():
    global buf
    while b"\0" not in buf:
        if not select.select([req], [], [], 1.0)[0]:
            try: os.kill(owner, 0)
            except ProcessLookupError: sys.exit(0)
            continue
        buf += os.read(req, 1 << 16)
    f, _, buf = buf.partition(b"\0")
    return f.decode("utf-8", "surrogateescape")
while True:
    n = int(field())
    cwd, code, *args = [field() for _ in range(n)]
    out, err, rc = io.StringIO(), io.StringIO(), 0
    sys.argv = ["-c"] + args
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            os.chdir(cwd)
            if code not in compiled:
                compiled[code] = compile(code, "<string>", "exec")
            exec(compiled[code], {"__name__": "__main__", "__builtins__": builtins})
        except SystemExit as e:
            if e.code is None: rc = 0
            elif isinstance(e.code, int): rc = e.code & 255
            else: print(e.code, file=sys.stderr); rc = 1
        except BaseException as e:
            traceback.print_exception(type(e), e, e.__traceback__.tb_next); rc = 1
    ans = [str(rc), out.getvalue(), err.getvalue()]
    data = b"".join(a.encode("utf-8", "surrogateescape").replace(b"\0", b"") + b"\0" for a in ans)
    while data:
        data = data[os.write(resp, data):]
' "$T/py.req" "$T/py.resp" "$$" </dev/null >"$T/pyc.out" 2>&1 & echo $! >"$T/pyc.pid" )
pyc() {
  local rc out err
  {
    flock 8
    printf '%s\0' $(( $# + 1 )) "$PWD" "$@" >&9
    IFS= read -r -d '' -t 120 -u 7 rc && IFS= read -r -d '' -t 120 -u 7 out &&
      IFS= read -r -d '' -t 120 -u 7 err ||
      { echo "pyc: no answer from the python3 of $T/pyc.pid: $(cat "$T/pyc.out")" >&2; return 1; }
  } 8>"$T/py.lock" 9<>"$T/py.req" 7<>"$T/py.resp"
  printf '%s' "$out"
  [ -z "$err" ] || printf '%s' "$err" >&2
  return "$rc"
}

json_get() { # json_get FILE KEY  (FILE may be - for stdin)
  local doc=
  [ "$1" != - ] || doc=$(cat)
  pyc 'import json,sys
d=json.load(open(sys.argv[1])) if sys.argv[1]!="-" else json.loads(sys.argv[3])
for k in sys.argv[2].split("."):
    d=d[int(k)] if isinstance(d,list) else d[k]
print(d if not isinstance(d,bool) else str(d).lower())' "$1" "$2" "$doc"
}

# Services started directly by a test (not through `hotline up`) run without access checks
# unless the test turns them on (auth_on): each such test is about its own subject, and
# tests/integration/test_access.sh and the pipeline tests (`hotline up`) check access.
export HOTLINE_RUNTIME_AUTH_DISABLED=${HOTLINE_RUNTIME_AUTH_DISABLED:-true}

# auth_on: services this test starts from now on check tokens against $T/auth/tokens.json.
# mint ROLE [NAME]: print a new token of that role (services started before see it within a
# second; wait for it with wait_token URL TOKEN).
auth_on() {
  mkdir -p "$T/auth"
  export HOTLINE_RUNTIME_AUTH_DISABLED=false HOTLINE_RUNTIME_AUTH_TOKENS_FILE="$T/auth/tokens.json"
}
mint() {
  "$BIN/hotline" token create --tokens-file "$T/auth/tokens.json" --role "$1" \
    --name "${2:-test $1}" 2>/dev/null
}
wait_token() { # wait_token BASE_URL TOKEN: until the service accepts it
  local url=$1 tok=$2
  accepted() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$url/v1/access")" = 200 ]; }
  wait_until 10 accepted
}

HTTP_STATUS=0
http() { # http METHOD URL [BODY]; body to stdout, status in $HTTP_STATUS
  local method=$1 url=$2 body=${3-}
  local out auth=()
  [ -n "${TOKEN:-}" ] && auth=(-H "Authorization: Bearer $TOKEN")
  if [ -n "$body" ]; then
    out=$(curl -sS -X "$method" "${auth[@]}" -H 'Content-Type: application/json' \
          --data-binary "$body" -w '\n%{http_code}' "$url")
  else
    out=$(curl -sS -X "$method" "${auth[@]}" -w '\n%{http_code}' "$url")
  fi
  HTTP_STATUS=${out##*$'\n'}
  printf '%s\n' "${out%$'\n'*}"
}

# Ports for tests come from below the kernel's ephemeral range (32768-60999 here), so that
# no outgoing connection and no service bound to port 0 can take a port a test chose, and
# each block is reserved (a directory in $PORT_LOCKS naming the test's pid) so that two tests
# running at once never pick the same one. A reservation whose test is gone is reused.
PORT_LOCKS=/tmp/hotline-test-ports
reserve_ports() { # reserve_ports N: print the first of N consecutive free ports, reserved
  python3 - "$1" "$$" "$PORT_LOCKS" <<'PY'
import os, random, socket, sys
n, owner, locks = int(sys.argv[1]), sys.argv[2], sys.argv[3]
os.makedirs(locks, exist_ok=True)
lo = 20000
hi = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
def alive(pid):
    try: os.kill(int(pid), 0); return True
    except (OSError, ValueError): return False
def take(port):
    d = os.path.join(locks, str(port))
    try:
        os.mkdir(d)
    except FileExistsError:
        try: holder = open(os.path.join(d, "pid")).read()
        except OSError: return False        # being written: someone else's
        if alive(holder): return False
    open(os.path.join(d, "pid"), "w").write(owner)
    return True
for _ in range(500):
    base = random.randrange(lo, hi - n)
    taken, socks = [], []
    try:
        for p in range(base, base + n):
            if not take(p): raise OSError
            taken.append(p)
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        for p in taken:
            d = os.path.join(locks, str(p))
            try: os.remove(os.path.join(d, "pid")); os.rmdir(d)
            except OSError: pass
    finally:
        for s in socks: s.close()
else:
    sys.exit("reserve_ports: no %d free ports in %d..%d" % (n, lo, hi))
PY
}
release_ports() { # the reservations of this test
  local d
  for d in "$PORT_LOCKS"/*; do
    [ "$(cat "$d/pid" 2>/dev/null)" = "$$" ] && rm -rf "$d"
  done
  return 0
}
free_port() { reserve_ports 1; }

rss_anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
