# Shell functions shared by tests/bench/bench_pipeline.sh and bench_lifecycle.sh. Source it
# after tests/lib.sh (it uses nothing of it but bash and python3):
#   pids_of_up UP_PID                 SVC=PID for each child of the `hotline up` process
#   store_stat LABEL DIR TICKETS SVC...  mdb_stat -efa of each service's store under DIR: one
#                                     JSON line per service with its sub-databases' entries,
#                                     pages and bytes per ticket, and the free pages

pids_of_up() { # SVC=PID for each child of the `hotline up` process
  local up=$1 p
  for p in $(cat "/proc/$up/task/$up/children"); do
    echo "$(tr '\0' ' ' < "/proc/$p/cmdline" | grep -o 'bin/hotline-[a-z]*' | head -n 1 | cut -d- -f2)=$p"
  done
}

# mdb_stat of each store: which sub-database holds what.
store_stat() { # store_stat LABEL DIR TICKETS SVC...
  local label=$1 dir=$2 tickets=$3; shift 3
  python3 - "$label" "$dir" "$tickets" "$@" <<'PY'
import json, re, subprocess, sys
label, data, tickets, *svcs = sys.argv[1:]
tickets = int(tickets)
for s in svcs:
    text = subprocess.run(["mdb_stat", "-efa", f"{data}/{s}"], capture_output=True, text=True,
                          check=True).stdout
    psize = int(re.search(r"Page size: (\d+)", text).group(1))
    used = int(re.search(r"Number of pages used: (\d+)", text).group(1))
    free = int(re.search(r"Free pages: (\d+)", text).group(1))
    dbs = {}
    for name, body in re.findall(r"Status of (.+)\n((?:  .*\n?)+)", text):
        f = dict((k, int(v)) for k, v in re.findall(r"  (\w[\w ]*): (\d+)", body))
        pages = f.get("Branch pages", 0) + f.get("Leaf pages", 0) + f.get("Overflow pages", 0)
        if f.get("Entries", 0) or pages:
            dbs[name] = {"entries": f.get("Entries", 0), "pages": pages,
                         "bytes_per_ticket": round(pages * psize / tickets, 1),
                         "bytes_per_entry": round(pages * psize / f["Entries"], 1) if f.get("Entries") else None}
    print(json.dumps({"bench": "store", "label": label, "service": s,
                      "pages_used": used, "free_pages": free,
                      "bytes_per_ticket": round(used * psize / tickets, 1),
                      "free_bytes_per_ticket": round(free * psize / tickets, 1), "subdbs": dbs}))
PY
}
