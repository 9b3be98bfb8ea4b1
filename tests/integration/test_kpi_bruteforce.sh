#!/usr/bin/env bash
# The KPI brute-force check (issue 12, must-show 1). kpimonth generates a seeded month of
# events (November 2026, UTC+8, every kind analytics counts, feeds out of order, next month's
# appeals), applies them to a real analytics store in-process and writes the events
# (NDJSON) and analytics' GET /v1/kpis answers (every day, ISO week, the month and custom ranges
# across its boundaries, x by unit / category / district, x filters) before the next month's
# late events, after them, and after a rebuild. tests/support/kpi_bruteforce.py, written from
# docs/domain.md, recomputes every figure from the events alone: all must agree, and an upheld
# appeal ruled next month must change the month's satisfaction in both. Two controls prove the
# check can fail: one altered figure in the answers, one late appeal left out of the events.
#
# KPI_EVENTS (default 200,000 here, for the ASan build) sets the size; the full run:
#   KPI_EVENTS=1000000 HOTLINE_BIN=build/release/bin bash tests/integration/test_kpi_bruteforce.sh
source "$(dirname "$0")/../lib.sh"
SRC=${HOTLINE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK="$SRC/tests/support/kpi_bruteforce.py"
EVENTS=${KPI_EVENTS:-200000}
SEED=${KPI_SEED:-12}
MONTH=2026-11
M="$T/month"

log "kpimonth: $EVENTS events, seed $SEED"
"$BIN/kpimonth" --dir "$M" --events "$EVENTS" --seed "$SEED" --month "$MONTH" \
  >"$T/kpimonth.json" 2>"$T/kpimonth.log" || fail "kpimonth failed"
cat "$T/kpimonth.json"
python3 - "$T/kpimonth.json" "$EVENTS" <<'PY' || fail "the generated month lacks what the check needs"
import json, sys
kinds, r = [json.loads(x) for x in open(sys.argv[1])]
kinds = kinds["kinds"]
for k in ("ticketReceived", "repeatContact", "ticketDispatched", "ticketSigned", "ticketReplied",
          "ticketReopened", "slaClockStarted", "slaClockStopped", "slaWarning", "slaBreached",
          "callbackScheduled", "callbackAttempted", "callbackRated", "reworkRequested",
          "ticketClosed", "kpiEligibilityChanged", "returnRequested", "returnReviewed"):
    assert kinds.get(k, 0) > 0, "no %s in the month" % k
need = int(sys.argv[2])
assert r["events"] >= need, r
assert r["late_events"] > 0 and r["appeals_ruled_next_month"] > 0, r
assert r["received_after_other_events"] > 0, r   # dispatch's event before intake's
assert r["late_stops_without_breach"] > 0 and r["breached_extended_on_time"] > 0, r
assert r["rebuild_done"] == r["events"] and r["rebuild_skipped"] == 0, r
PY

log "brute force"
python3 "$CHECK" "$M/events.ndjson" "$M/answers.ndjson" --month "$MONTH" >"$T/check.txt" ||
  { cat "$T/check.txt"; fail "analytics and the brute force disagree"; }
cat "$T/check.txt"
grep -q ", 0 differences" "$T/check.txt" || fail "differences reported"
answers=$(sed -n 's/.* \([0-9]*\) answers (final, month, rebuilt).*/\1/p' "$T/check.txt")
[ "${answers:-0}" -ge 1500 ] || fail "only ${answers:-0} answers compared"

# ---- controls: the check must catch a wrong figure and a missing event ----
log "control 1: one figure altered in analytics' answers"
python3 - "$M/answers.ndjson" "$T/altered.ndjson" "$MONTH" >"$T/altered.txt" <<'PY'
import json, sys
src, dst, month = sys.argv[1:4]
done = False
with open(src) as f, open(dst, "w") as out:
    for line in f:
        a = json.loads(line)
        if not done and a["phase"] == "final" and a["query"] == "period=%s&by=unit" % month:
            g = a["answer"]["groups"][1]
            g["signedLate"] += 1
            print("group %s: signedLate" % g["key"])
            done = True
        out.write(json.dumps(a) + "\n")
assert done
PY
what=$(cat "$T/altered.txt")
if python3 "$CHECK" "$M/events.ndjson" "$T/altered.ndjson" --month "$MONTH" >"$T/control1.txt"; then
  cat "$T/control1.txt"; fail "control 1: an altered answer passed the check"
fi
grep -q "DIFFERENT final period=$MONTH&by=unit $what: analytics" "$T/control1.txt" ||
  { cat "$T/control1.txt"; fail "control 1: the altered figure ($what) is not named"; }
grep -m3 "DIFFERENT" "$T/control1.txt" || true # -m3, not head: head closing early kills grep with SIGPIPE under pipefail

log "control 2: one late upheld appeal left out of the events"
python3 - "$M/events.ndjson" "$T/fewer.ndjson" "$M/answers.ndjson" <<'PY'
import json, sys
src, dst, answers = sys.argv[1:4]
split = next(json.loads(l)["events"] for l in open(answers) if '"phase":"month"' in l)
with open(src) as f, open(dst, "w") as out:
    dropped = False
    for n, line in enumerate(f):
        if not dropped and n >= split and '"kpiEligibilityChanged"' in line:
            dropped = True
            continue
        out.write(line)
assert dropped
PY
if python3 "$CHECK" "$T/fewer.ndjson" "$M/answers.ndjson" --month "$MONTH" --show 50 \
  >"$T/control2.txt"; then
  cat "$T/control2.txt"; fail "control 2: answers with an appeal the events lack passed the check"
fi
grep -q "ratingsExcluded: analytics" "$T/control2.txt" ||
  { cat "$T/control2.txt"; fail "control 2: the missing appeal is not seen in ratingsExcluded"; }
grep -m3 "DIFFERENT" "$T/control2.txt" || true
log "ok"
