"""The load tester against wrk: which one is the bottleneck? (docs/loadtest.md#benchmark)

A trivial HTTP endpoint runs pinned to core 0; wrk, then ``modelkeep loadtest``, each pinned to
core 1, push it as hard as they can for the same time in the same run. The load tester passes
when it reaches at least 0.9x wrk's requests per second: then the target, not the tester, is
what limits a load test. A shared VM moves a single pass by 2x either way (0.60x, 1.25x and
1.00x in three passes of one quarter hour), so wrk and the load tester run in turn over
``--rounds`` (default 5; the order alternates) and the ratio judged is the median of the
rounds' ratios; the load average is printed too::

    python benchmarks/loadtest.py [--seconds 10] [--connections 32] [--server stdlib|uvicorn]
                                  [--processes K] [--rounds N]

``stdlib`` is http.server's ThreadingHTTPServer speaking HTTP/1.1 keep-alive (a slow Python
server); ``uvicorn`` is a raw ASGI app on uvicorn (the stack the gateway runs on). Both answer
``{"ok": true}``. Needs ``wrk`` (Debian: ``apt-get install -y wrk``) and ``taskset``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import textwrap
import time

SERVERS = {
    "stdlib": """
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "12")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *a):
                pass

        s = ThreadingHTTPServer(("127.0.0.1", PORT), H)
        s.daemon_threads = True
        s.serve_forever()
    """,
    "uvicorn": """
        import uvicorn

        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"ok": true}'})

        uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", access_log=False)
    """,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the endpoint did not start")


def _wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}",
                          f"-d{seconds}s", url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"no Requests/sec in wrk's output:\n{out}")
    return float(match.group(1))


def _loadtest(url: str, seconds: int, connections: int, processes: int
              ) -> tuple[float, float, dict]:
    """(steady rps: median of the full seconds, whole-test rps, the JSON result); the
    connections are shared between the processes."""
    out = subprocess.run(["taskset", "-c", "1", sys.executable, "-m", "modelkeep", "loadtest", url,
                          "--rps", "1000000", "--duration", f"{seconds}s", "--users",
                          str(max(1, connections // processes)), "--processes", str(processes),
                          "--json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    counts = [s["requests"] for s in data["seconds"]][1:-1] or [data["rps"]]
    return float(statistics.median(counts)), float(data["rps"]), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server", choices=sorted(SERVERS), default="stdlib")
    parser.add_argument("--processes", type=int, default=1,
                        help="load tester worker processes (all on core 1)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="wrk and the load tester in turn, this many times each")
    args = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("taskset"):
        raise SystemExit("needs wrk and taskset: apt-get install -y wrk util-linux")
    port = _free_port()
    code = textwrap.dedent(SERVERS[args.server]).replace("PORT", str(port))
    server = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", code],
                              stderr=subprocess.DEVNULL)  # resets when wrk hangs up: noise
    try:
        _wait(port)
        url = f"http://127.0.0.1:{port}/"
        load_before = os.getloadavg()
        _wrk(url, 2, args.connections)  # warm up the server
        rounds = []
        for n in range(args.rounds):  # alternate which goes first: neither always gets the warmer machine
            order = ("wrk", "loadtest") if n % 2 == 0 else ("loadtest", "wrk")
            got: dict = {}
            for tool in order:
                if tool == "wrk":
                    got["wrk"] = _wrk(url, args.seconds, args.connections)
                else:
                    got["steady"], got["whole"], got["data"] = _loadtest(
                        url, args.seconds, args.connections, args.processes)
            got["ratio"] = got["steady"] / got["wrk"]
            rounds.append(got)
            print(f"round {n + 1}: wrk {got['wrk']:.0f} req/s, load tester {got['steady']:.0f} "
                  f"req/s (steady seconds; whole test {got['whole']:.0f}) = {got['ratio']:.3f}x",
                  file=sys.stderr, flush=True)
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait()
    ratio = statistics.median(r["ratio"] for r in rounds)
    print(json.dumps({
        "server": args.server, "seconds": args.seconds, "connections": args.connections,
        "loadtest_processes": args.processes, "rounds": args.rounds,
        "tester_saturated": [r["data"]["tester_saturated"] for r in rounds],
        "wrk_rps": [round(r["wrk"]) for r in rounds],
        "loadtest_rps_steady": [round(r["steady"]) for r in rounds],
        "loadtest_rps_whole_test": [round(r["whole"]) for r in rounds],
        "loadtest_failures": sum(r["data"]["failures"] for r in rounds),
        "loadtest_p50_ms": [r["data"]["p50"] for r in rounds],
        "ratios": [round(r["ratio"], 3) for r in rounds],
        "ratio": round(ratio, 3), "passes_0.9x": ratio >= 0.9,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }, indent=2))

if __name__ == "__main__":
    main()
