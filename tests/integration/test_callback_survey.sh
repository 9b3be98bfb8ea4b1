#!/usr/bin/env bash
# The survey gateway (issue 11, "automated channel") on the real pipeline: `hotline up` with
# callback's survey block pointing at the gateway simulator (tests/support/surveysim.py, Python
# standard library: it checks signatures and signs answers with its own HMAC code), mode all.
#   - survey mistakes stop callback's start-up naming the key
#   - ticket A replied -> its callback due -> the survey request reaches the gateway signed (the
#     simulator verifies it), with the number whole and the reply masked; callback shows the
#     task waiting for the survey (phone masked), `hotline callback surveys` lists it
#   - forged answers (a wrong key, no signature, a token instead of a signature, a stale
#     timestamp) get 401 naming the header, are counted, and change nothing; signed bodies that
#     break a rule (unknown rating, long comment, another survey's id, broken JSON) get 400
#     naming the field
#   - the gateway's signed answer closes A with the rating in its timeline (`hotline show`:
#     surveySent, callbackRated by agent survey, ticketClosed); a second answer gets 409
#   - ticket B answered at once by the gateway (auto, dissatisfied) goes back for rework
#   - ticket C left unanswered closes after answerHours (72) of callback's clock, as an
#     unreachable one does; its late answer gets 410
#   - callback's /metrics pass promtool; its log holds no whole phone number
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pipeline.sh"

expect_exit() { # expect_exit CODE PATTERN CMD...: exit code and a message on stderr
  local code=$1 pattern=$2 rc=0; shift 2
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat "$T/err")"
  grep -qF -- "$pattern" "$T/err" || fail "$*: stderr lacks '$pattern': $(cat "$T/err")"
}

KEY=survey-gateway-secret-0123456789
printf '%s\n' "$KEY" >"$T/survey.key"
chmod 600 "$T/survey.key"
SIM=$(free_port)
SIMURL="http://127.0.0.1:$SIM"

# ---- configuration ----------------------------------------------------------------------------
CB=("$BIN/hotline-callback" --data-dir "$T/bad" --print-config)
survey() { echo "{\"survey\": {$1}}" >"$T/s.json"; }
survey '"url": "http://127.0.0.1:1/s", "secretFile": "'"$T/survey.key"'", "mode": "sometimes"'
expect_exit 2 "survey.mode: 'sometimes' is not one of fallback" "${CB[@]}" --config "$T/s.json"
survey '"url": "ftp://gateway", "secretFile": "'"$T/survey.key"'"'
expect_exit 2 "survey.url: 'ftp://gateway' is not http:// or https://" "${CB[@]}" --config "$T/s.json"
survey '"url": "http://127.0.0.1:1/s"'
expect_exit 2 "survey.secretFile: give exactly one of secretFile" "${CB[@]}" --config "$T/s.json"
cp "$T/survey.key" "$T/open.key"
chmod 644 "$T/open.key"
survey '"url": "http://127.0.0.1:1/s", "secretFile": "'"$T/open.key"'"'
expect_exit 2 "survey.secretFile: $T/open.key is open to group or others (mode 0644)" \
  "${CB[@]}" --config "$T/s.json"
survey '"url": "http://127.0.0.1:1/s", "secretEnv": "SURVEY_KEY", "answerHours": 0'
SURVEY_KEY=$KEY expect_exit 2 "survey.answerHours: 0 is below the minimum 1" "${CB[@]}" --config "$T/s.json"
"$BIN/hotline-callback" --print-config >"$T/default.json"
[ "$(json_get "$T/default.json" survey.mode)/$(json_get "$T/default.json" survey.answerHours)" = fallback/72 ] ||
  fail "survey defaults: $(cat "$T/default.json")"
[ -z "$(json_get "$T/default.json" survey.url)" ] || fail "the embedded default has a survey gateway"
log "survey configuration mistakes are refused naming the key; off by default, mode fallback, 72 h"

# ---- the pipeline with the gateway ---------------------------------------------------------------
cat >"$T/callback.json" <<EOF
{"survey": {"url": "$SIMURL/survey", "secretFile": "$T/survey.key", "mode": "all",
            "channel": "sms", "answerHours": 72, "timeoutMs": 2000, "backoffFirstMs": 200,
            "backoffCapMs": 1000}}
EOF
# The services' test clock moves days away from the wall clock: the simulator takes any
# timestamp within 100 days, and signs its answers on the sender's clock.
SURVEYSIM_KEY=$KEY start surveysim python3 "$(dirname "$0")/../support/surveysim.py" \
  --port "$SIM" --skew-ms 8640000000 --answer hold --comment "fixed within the day, thanks"
wait_until 10 curl -sf "$SIMURL/state"
pipeline_up --test-clock --service-config "callback=$T/callback.json"
C=$(svc_url callback)
sim() { curl -sf -X "$1" "$SIMURL$2"; }
cb_clock() { curl_as admin -sf -X POST -d "$1" "$C/admin/clock" | json_get - nowMs; }
metric() { curl -sf "$C/metrics" | awk -v k="$1" '$1 == k {print $2}'; }

reply_ticket() { # reply_ticket PHONE: a W01 ticket submitted, signed and replied; prints its id
  local id unit
  id=$(hl_as operator submit --category W01 --description "no water since noon" --phone "$1" \
         --district Gulou)
  wait_view "$id" status TICKET_DISPATCHED
  unit=$(view "$id" unit)
  hl_as "unit:$unit" sign "$id" >/dev/null
  hl_as "unit:$unit" reply "$id" --result "valve replaced; call 0591-8765-4321 if it fails again" \
    >/dev/null
  echo "$id"
}
cb_task() { # cb_task ID KEY: a field of the ticket's latest callback task ("" when absent)
  pyc 'import json,sys
d=json.loads(sys.argv[1])["callbacks"][-1]
for k in sys.argv[2].split("."):
    d=d.get(k, "") if isinstance(d, dict) else ""
print(d)' "$(curl_as supervisor -sf "$C/v1/callbacks/$1")" "$2"
}
survey_due() { # survey_due ID: callback's clock moved on to the instant ID's callback is due
  local due now
  has_task() { [ -n "$(cb_task "$1" dueMs)" ]; }
  wait_until 30 has_task "$1"
  due=$(cb_task "$1" dueMs)
  now=$(cb_clock '{"advanceMs": 0}')
  [ "$due" -le "$now" ] || cb_clock "{\"nowMs\": $due}" >/dev/null
}
request_of() { # request_of ID [KEY]: the gateway's request about ticket ID (a field of it)
  pyc 'import json,sys
r=[r for r in json.loads(sys.argv[1])["requests"] if r["ticketId"] == sys.argv[2]]
if not r: sys.exit(1)
print(json.dumps(r[0]) if len(sys.argv) < 4 else r[0][sys.argv[3]])' "$(sim GET /state)" "$@"
}

# ---- A: sent, signed, forged answers refused, answered, closed --------------------------------
A=$(reply_ticket 13812345678)
survey_due "$A"
wait_until 30 request_of "$A"
SA=$(request_of "$A" surveyId)
[ "$(sim GET /state | json_get - rejected)" = 0 ] || fail "the gateway refused a signature: $(sim GET /state)"
[ "$(request_of "$A" phone)" = 13812345678 ] || fail "the gateway lacks the number: $(request_of "$A")"
request_of "$A" replyText | grep -q "8765-4321" && fail "the reply went out unmasked: $(request_of "$A")"
[ "$(request_of "$A" answerUrl)" = "$C/v1/surveys/$SA/answer" ] || fail "answerUrl: $(request_of "$A")"
[ "$(request_of "$A" channel)" = sms ] || fail "channel: $(request_of "$A")"
log "A ($A): survey $SA reached the gateway signed (verified by the simulator), number whole, reply masked"

[ "$(cb_task "$A" state)/$(cb_task "$A" survey.state)" = survey/sent ] ||
  fail "A's task: $(curl_as supervisor -s "$C/v1/callbacks/$A")"
curl_as supervisor -sf "$C/v1/callbacks/$A" | grep -q 13812345678 && fail "the view shows the whole number"
hl_as supervisor callback surveys >"$T/surveys.txt" || fail "hotline callback surveys: $(cat "$T/surveys.txt")"
grep -q "$A .*survey $SA by sms" "$T/surveys.txt" || fail "callback surveys: $(cat "$T/surveys.txt")"
grep -q 13812345678 "$T/surveys.txt" && fail "callback surveys shows the whole number"
hl_as callback-agent@agent-1 callback next 2>"$T/next.err" && fail "an agent was handed A's survey task"
log "A waits for the gateway, not for an agent: $(cat "$T/surveys.txt")"

# Forgeries, each refused 401 naming the header; nothing changes.
HEAD_BEFORE=$(metric 'hotline_events_appended_total{kind="callback_rated"}')
BODY='{"rating": "RATING_VERY_SATISFIED", "resolved": true, "comment": "forged"}'
forge() { # forge TS KEY [CURL ARGS...]: BODY to A's answerUrl signed with KEY; prints the status
  local ts=$1 key=$2 sig; shift 2
  sig=$(pyc 'import hashlib,hmac,sys
print("sha256=" + hmac.new(sys.argv[2].encode(), (sys.argv[1] + "." + sys.argv[3]).encode(),
      hashlib.sha256).hexdigest())' "$ts" "$key" "$BODY")
  curl -s -o "$T/forge.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "X-Hotline-Timestamp: $ts" -H "X-Hotline-Signature: $sig" "$@" --data-binary "$BODY" \
    "$C/v1/surveys/$SA/answer"
}
refused_with() { # refused_with FIELD TEXT: the last forgery's answer
  [ "$(json_get "$T/forge.json" error.field)" = "$1" ] || fail "field: $(cat "$T/forge.json")"
  grep -qF -- "$2" "$T/forge.json" || fail "message lacks '$2': $(cat "$T/forge.json")"
}
NOW=$(cb_clock '{"advanceMs": 0}')
[ "$(forge "$NOW" not-the-gateway-secret-0123)" = 401 ] || fail "a wrong key: $(cat "$T/forge.json")"
refused_with X-Hotline-Signature "does not match"
[ "$(forge "$((NOW - 600000))" "$KEY")" = 401 ] || fail "a stale timestamp: $(cat "$T/forge.json")"
refused_with X-Hotline-Timestamp "600 s behind this service's clock"
code=$(curl -s -o "$T/forge.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $(token_for admin)" --data-binary "$BODY" "$C/v1/surveys/$SA/answer")
[ "$code" = 401 ] || fail "an admin token without a signature: $code $(cat "$T/forge.json")"
refused_with X-Hotline-Timestamp "missing"
# Signed but wrong: refused 400 naming the field.
NOW=$(cb_clock '{"advanceMs": 0}')
BODY='{"surveyId": "'"$SA"'", "rating": "RATING_GREAT", "resolved": true}'
[ "$(forge "$NOW" "$KEY")" = 400 ] || fail "an unknown rating: $(cat "$T/forge.json")"
refused_with rating "RATING_GREAT"
BODY='{"surveyId": "'"$SA"'", "rating": "RATING_SATISFIED", "comment": "'"$(head -c 1001 /dev/zero | tr '\0' x)"'"}'
[ "$(forge "$NOW" "$KEY")" = 400 ] || fail "a long comment: $(cat "$T/forge.json")"
refused_with comment "at most 1000 characters"
# A signed body that does not name its survey could be replayed to another survey's URL.
BODY='{"rating": "RATING_SATISFIED", "resolved": true}'
[ "$(forge "$NOW" "$KEY")" = 400 ] || fail "a body without its surveyId: $(cat "$T/forge.json")"
refused_with surveyId "required in the signed body"
BODY='{"rating": "RATING_SATISFIED", "surveyId": "sv-another"}'
[ "$(forge "$NOW" "$KEY")" = 400 ] || fail "another survey's id: $(cat "$T/forge.json")"
refused_with surveyId "the body names sv-another but the path names $SA"
BODY='{"rating": '
[ "$(forge "$NOW" "$KEY")" = 400 ] || fail "broken JSON: $(cat "$T/forge.json")"
[ "$(cb_task "$A" survey.state)" = sent ] || fail "a forgery changed A: $(cb_task "$A" survey)"
[ "$(view "$A" status)" = TICKET_REPLIED ] || fail "a forgery changed A's status: $(view "$A" status)"
[ "$(metric 'hotline_events_appended_total{kind="callback_rated"}')" = "$HEAD_BEFORE" ] ||
  fail "a forgery recorded a rating"
for r in mismatch stale no_timestamp; do
  [ "$(metric "hotline_survey_answers_refused_total{reason=\"$r\"}")" = 1 ] ||
    fail "refusals counted: $(curl -sf "$C/metrics" | grep survey_answers_refused)"
done
log "forged answers refused 401 (wrong key, stale, a token without a signature), counted;" \
    "signed bad bodies 400 naming the field; A unchanged"

sim POST "/admin/answer?surveyId=$SA&rating=RATING_SATISFIED" >"$T/answer.json"
[ "$(json_get "$T/answer.json" status)" = 200 ] || fail "the gateway's answer: $(cat "$T/answer.json")"
[ "$(json_get "$T/answer.json" body.recordCallback.status)" = TICKET_CLOSED ] ||
  fail "the answer's result: $(cat "$T/answer.json")"
wait_view "$A" status TICKET_CLOSED
rated_shown() { hl show "$A" >"$T/show.txt" && grep -q "callbackRated" "$T/show.txt"; }
wait_until 30 rated_shown
grep -q "surveySent .*surveyId=$SA" "$T/show.txt" || fail "timeline lacks surveySent: $(cat "$T/show.txt")"
grep "callbackRated" "$T/show.txt" | grep "rating=RATING_SATISFIED" | grep -q "agent=survey" ||
  fail "timeline lacks the survey's rating: $(cat "$T/show.txt")"
grep -q "ticketClosed .*reason=rated satisfied" "$T/show.txt" || fail "timeline: $(cat "$T/show.txt")"
grep -E "survey|callback|ticketClosed" "$T/show.txt"
sim POST "/admin/answer?surveyId=$SA&rating=RATING_VERY_DISSATISFIED" >"$T/answer.json"
[ "$(json_get "$T/answer.json" status)" = 409 ] || fail "a second answer: $(cat "$T/answer.json")"
grep -q "already answered" "$T/answer.json" || fail "second answer: $(cat "$T/answer.json")"
log "the gateway's signed answer closed A, rated in its timeline; a second answer got 409:" \
    "$(json_get "$T/answer.json" body.error.message)"

# ---- B: answered at once, dissatisfied -> rework ---------------------------------------------
sim POST "/admin/mode?answer=auto&rating=RATING_DISSATISFIED&resolved=0&comment=still+no+water" >/dev/null
B=$(reply_ticket 13812345679)
survey_due "$B"
answered() { pyc 'import json,sys
a=[a for a in json.loads(sys.argv[1])["answers"] if a["body"].get("recordCallback", {}).get("ticketId") == sys.argv[2]]
sys.exit(0 if a and a[0]["status"] == 200 else 1)' "$(sim GET /state)" "$1"; }
wait_until 30 answered "$B"
wait_view "$B" status TICKET_REWORK
log "B ($B): answered by the gateway at once, dissatisfied: back at the unit for rework"

# ---- C: no answer within 72 hours -> closed; a late answer 410 --------------------------------
sim POST "/admin/mode?answer=hold" >/dev/null
C_ID=$(reply_ticket 13812345670)
survey_due "$C_ID"
wait_until 30 request_of "$C_ID"
SC=$(request_of "$C_ID" surveyId)
cb_clock "{\"advanceMs\": $((72 * 3600000 + 60000))}" >/dev/null
wait_view "$C_ID" status TICKET_CLOSED
expired_shown() { hl show "$C_ID" >"$T/showc.txt" && grep -q "surveyExpired" "$T/showc.txt"; }
wait_until 30 expired_shown
grep -q "ticketClosed .*reason=no survey answer within 72 hours" "$T/showc.txt" ||
  fail "C's timeline: $(cat "$T/showc.txt")"
sim POST "/admin/answer?surveyId=$SC&ts=$(cb_clock '{"advanceMs": 0}')" >"$T/answer.json"
[ "$(json_get "$T/answer.json" status)" = 410 ] || fail "a late answer: $(cat "$T/answer.json")"
grep -q "expired" "$T/answer.json" || fail "late answer: $(cat "$T/answer.json")"
[ "$(cb_task "$C_ID" survey.state)" = expired ] || fail "C's survey: $(cb_task "$C_ID" survey)"
log "C ($C_ID): no answer within 72 h: closed as unreached; a late answer got 410"

# ---- the whole -----------------------------------------------------------------------------------
[ "$(sim GET /state | json_get - rejected)" = 0 ] || fail "the gateway refused a request: $(sim GET /state)"
[ "$(sim GET /state | json_get - unique)" = 3 ] || fail "surveys sent: $(sim GET /state)"
curl -sf "$C/metrics" >"$T/m.txt"
promtool check metrics <"$T/m.txt" >"$T/promtool.txt" 2>&1 || fail "promtool: $(cat "$T/promtool.txt")"
[ ! -s "$T/promtool.txt" ] || fail "promtool lint: $(cat "$T/promtool.txt")"
grep -q '^hotline_connector_sent_total{connector="survey",outcome="delivered"} 3$' "$T/m.txt" ||
  fail "deliveries: $(grep connector_sent "$T/m.txt")"
grep -q '1381234567' "$T/hl/callback.log" && fail "callback's log holds a whole phone number"
taken=$(pyc 'import json,sys; print(sum(a["status"] == 200 for a in json.loads(sys.argv[1])["answers"]))' \
  "$(sim GET /state)")
[ "$taken" = 2 ] || fail "answers taken: $(sim GET /state)"
stop_term surveysim
log "PASS: 3 surveys delivered signed, $taken answers taken, 1 expired"
