#!/usr/bin/env python3
"""surveysim: an SMS / IVR survey gateway simulator, the other end of callback's survey connector
in tests. Python 3 standard library only, so that the signature is checked, and the answers
signed, by an implementation other than Hotline's own (common/http/connector_secret.c).

  SURVEYSIM_KEY=<hmac key> surveysim.py --port N [--skew-ms N] [--answer auto|hold]
                                        [--rating RATING_SATISFIED] [--unresolved] [--comment C]

Serves 127.0.0.1:N and prints one line {"port": N} once listening. Routes:
  POST /survey        the survey request: X-Hotline-Timestamp within skew-ms (default 300000)
                      of this clock and X-Hotline-Signature = sha256=hex(HMAC-SHA256(key,
                      timestamp "." body)) (hmac.compare_digest), else 401; Idempotency-Key
                      must be the body's surveyId. A key seen before is a duplicate (200 again).
                      With --answer auto the citizen "answers" at once: a signed POST of
                      {"surveyId", "rating", "resolved", "comment"} to the request's answerUrl,
                      from a thread, after this request has been answered
  POST /admin/answer?surveyId=ID[&rating=R][&resolved=0][&comment=C][&ts=MS][&key=K]
                      answer that survey now (the default rating, resolution and comment
                      unless given), signed with timestamp ts (default: the request's own
                      timestamp plus the time since it came, i.e. the sender's clock, which a
                      test may have moved) and the key (default the real one); answers with
                      {"status": HTTP status of the answer, "body": its JSON}
  POST /admin/mode?answer=auto|hold[&rating=R][&resolved=0|1][&comment=C]
  GET  /state         {"received", "unique", "duplicates", "rejected", "requests": [bodies, in
                      arrival order], "answers": [{"surveyId", "status", "body"}]}
SIGTERM / SIGINT: exit 0.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def sign(key, ts, body):
    return "sha256=" + hmac.new(key, ts.encode() + b"." + body, hashlib.sha256).hexdigest()


class Gateway:
    def __init__(self, key, skew_ms, mode, rating, resolved, comment):
        self.key, self.skew_ms = key, skew_ms
        self.mode, self.rating, self.resolved, self.comment = mode, rating, resolved, comment
        self.lock = threading.Lock()
        self.requests, self.answers, self.keys = [], [], set()
        self.received = self.duplicates = self.rejected = 0
        self.clock = {}  # survey id -> (sender's timestamp, our monotonic time at arrival)

    def take(self, headers, body):
        """A survey request: (status, message)."""
        ts = headers.get("X-Hotline-Timestamp", "")
        sig = headers.get("X-Hotline-Signature", "")
        with self.lock:
            self.received += 1
        why = None
        if not ts.isdigit():
            why = "no timestamp"
        elif abs(time.time() * 1000 - int(ts)) > self.skew_ms:
            why = "timestamp out of range"
        elif not hmac.compare_digest(sign(self.key, ts, body), sig):
            why = "bad signature"
        try:
            req = json.loads(body)
        except ValueError:
            req, why = None, why or "body is not JSON"
        if not why and headers.get("Idempotency-Key") != req.get("surveyId"):
            why = "Idempotency-Key is not the surveyId"
        if why:
            with self.lock:
                self.rejected += 1
            return 401, why
        with self.lock:
            if req["surveyId"] in self.keys:
                self.duplicates += 1
                return 200, "duplicate"
            self.keys.add(req["surveyId"])
            self.requests.append(req)
            self.clock[req["surveyId"]] = (int(ts), time.monotonic())
        if self.mode == "auto":
            threading.Thread(target=self.answer, args=(req["surveyId"], {}), daemon=True).start()
        return 200, "taken"

    def answer(self, survey_id, opts):
        """POST the citizen's answer to the survey's answerUrl: (status, answer body)."""
        with self.lock:
            req = next((r for r in self.requests if r["surveyId"] == survey_id), None)
            sent_ts, at = self.clock.get(survey_id, (0, 0))
        if req is None:
            return 404, {"error": "no such survey request here"}
        body = json.dumps({
            "surveyId": survey_id,
            "rating": opts.get("rating", self.rating),
            "resolved": opts.get("resolved", "1" if self.resolved else "0") != "0",
            "comment": opts.get("comment", self.comment),
        }).encode()
        ts = opts.get("ts") or str(sent_ts + int((time.monotonic() - at) * 1000))
        key = opts.get("key", "").encode() or self.key
        r = urllib.request.Request(req["answerUrl"], data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Hotline-Timestamp": ts,
            "X-Hotline-Signature": sign(key, ts, body)})
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        except OSError as e:
            status, text = 0, json.dumps({"error": str(e)}).encode()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"raw": text.decode("utf-8", "replace")}
        with self.lock:
            self.answers.append({"surveyId": survey_id, "status": status, "body": answer})
        return status, answer

    def state(self):
        with self.lock:
            return {"received": self.received, "unique": len(self.keys),
                    "duplicates": self.duplicates, "rejected": self.rejected,
                    "requests": list(self.requests), "answers": list(self.answers)}


def handler(gw):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if urllib.parse.urlsplit(self.path).path == "/state":
                self.reply(200, gw.state())
            else:
                self.reply(404, {"error": "no such route"})

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path == "/survey":
                status, why = gw.take(self.headers, body)
                self.reply(status, {"accepted": status == 200} if status == 200 else
                           {"error": {"status": status, "message": why}})
            elif url.path == "/admin/answer":
                status, answer = gw.answer(q.get("surveyId", ""), q)
                self.reply(200, {"status": status, "body": answer})
            elif url.path == "/admin/mode":
                gw.mode = q.get("answer", gw.mode)
                gw.rating = q.get("rating", gw.rating)
                gw.resolved = q.get("resolved", "1" if gw.resolved else "0") != "0"
                gw.comment = q.get("comment", gw.comment)
                self.reply(200, {"answer": gw.mode, "rating": gw.rating})
            else:
                self.reply(404, {"error": "no such route"})

        def log_message(self, fmt, *args):
            sys.stderr.write("surveysim: " + (fmt % args) + "\n")

    return Handler


def main():
    p = argparse.ArgumentParser(description="survey gateway simulator")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--skew-ms", type=int, default=300000)
    p.add_argument("--answer", choices=["auto", "hold"], default="auto")
    p.add_argument("--rating", default="RATING_SATISFIED")
    p.add_argument("--unresolved", action="store_true")
    p.add_argument("--comment", default="")
    a = p.parse_args()
    key = os.environ.get("SURVEYSIM_KEY", "").encode()
    if not key:
        sys.exit("surveysim: set SURVEYSIM_KEY to the gateway's secret")
    gw = Gateway(key, a.skew_ms, a.answer, a.rating, not a.unresolved, a.comment)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), handler(gw))
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
