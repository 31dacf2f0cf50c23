#!/usr/bin/python3
# Screenshots a page of `go tool trace`'s web UI with headless Chromium
# (Debian's chromium and python3-websocket), waiting until the trace viewer
# has finished importing. README's trace viewer image comes from:
#
#   GOMAXPROCS=2 build/bench/pingpong -n 300 -trace /tmp/pp.trace
#   /usr/lib/go-1.19/bin/go tool trace -http=127.0.0.1:8765 /tmp/pp.trace &
#   scripts/traceshot.py http://127.0.0.1:8765/trace docs/trace-viewer.png
import base64, json, subprocess, sys, time, urllib.request

import websocket

port = 9333
url, out = sys.argv[1], sys.argv[2]
proc = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--window-size=1400,800", f"--remote-debugging-port={port}", "about:blank"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
            page = [t for t in tabs if t["type"] == "page"][0]
            break
        except Exception:
            time.sleep(0.2)
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], suppress_origin=True)
    n = [0]
    def call(method, **params):
        n[0] += 1
        ws.send(json.dumps({"id": n[0], "method": method, "params": params}))
        while True:
            m = json.loads(ws.recv())
            if m.get("id") == n[0]:
                return m.get("result", {})
    call("Page.enable")
    call("Page.navigate", url=url)
    for _ in range(240):
        time.sleep(0.5)
        r = call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
        text = r.get("result", {}).get("value", "")
        if "Importing" not in text and "PROCS" in text:
            break
    time.sleep(2)
    shot = call("Page.captureScreenshot", format="png")
    open(out, "wb").write(base64.b64decode(shot["data"]))
finally:
    proc.kill()
