#!/usr/bin/env python3
"""submit_load: submit N tickets over HTTP as a hotline centre's phone system would, each on
a new connection (so that instances sharing one address all get work), retrying a submission
that got no answer with the same Idempotency-Key until one comes. Every acknowledged ticket id
is appended to --acked as it is acknowledged (the client's own record of what intake
acknowledged), and a JSON summary is printed at the end.

usage: submit_load.py URL TOKEN N --acked FILE [--threads 8] [--progress FILE]
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

CATEGORIES = ["W01", "W02", "W03", "W04", "W05", "W06", "W07", "W08", "W09"]
DISTRICTS = ["Gulou", "Cangshan", "Taijiang", "Jinan", "Mawei"]


def body(i):
    return json.dumps({
        "categoryCode": CATEGORIES[i % len(CATEGORIES)],
        "description": f"load ticket {i}",
        "contact": {"phone": f"139{i:08d}"},
        "location": {"district": DISTRICTS[i % len(DISTRICTS)]},
    })


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("n", type=int)
    ap.add_argument("--acked", required=True)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--progress")
    ap.add_argument("--key-prefix", default="load")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    lock = threading.Lock()
    state = {"next": 0, "acked": 0, "retries": 0, "errors": {}}
    out = open(a.acked, "a", buffering=1)
    t0 = time.time()

    def submit(i):
        key = f"{a.key_prefix}-{i}"
        data = body(i)
        while True:
            try:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
                c.request("POST", "/v1/tickets", data, {
                    "Authorization": "Bearer " + a.token, "Idempotency-Key": key,
                    "Content-Type": "application/json", "Connection": "close"})
                r = c.getresponse()
                text = r.read()
                c.close()
                if r.status == 200:
                    return json.loads(text)["submitTicket"]["ticketId"]
                why = f"http {r.status}"
                if r.status < 500:
                    with lock:
                        state["fatal"] = f"{key} refused: {r.status} {text[:200]!r}"
                    return None
            except (OSError, http.client.HTTPException) as e:
                why = type(e).__name__
            with lock:
                state["retries"] += 1
                state["errors"][why] = state["errors"].get(why, 0) + 1
            time.sleep(0.05)

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= a.n:
                    return
                state["next"] += 1
            tid = submit(i)
            if tid is None:
                return
            with lock:
                out.write(f"{tid} {a.key_prefix}-{i}\n")
                state["acked"] += 1
                if a.progress and state["acked"] % 100 == 0:
                    with open(a.progress + ".tmp", "w") as p:
                        p.write(str(state["acked"]))
                    os.replace(a.progress + ".tmp", a.progress)

    threads = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    if "fatal" in state:
        sys.exit("submit_load: " + state["fatal"])
    print(json.dumps({"acked": state["acked"], "retries": state["retries"],
                      "errors": state["errors"], "seconds": round(secs, 1),
                      "per_second": round(state["acked"] / secs, 1)}))


if __name__ == "__main__":
    main()
