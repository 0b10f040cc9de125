"""What an oversized answer costs: peak memory of reading it with and without the cap.

A loopback server answers one GET with a JSON body of ``--mib`` MiB. Two child processes
fetch it: plain requests (the reference: what a provider did before the cap), and a
requests session through the providers' bounded adapter with the default 32 MiB cap. Each
prints its peak RSS; the ratio is the point.

    python benchmarks/response_cap.py --mib 300
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = b'"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",' * 2048


def serve(mib: int) -> ThreadingHTTPServer:
    size = mib * 2**20

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            sent = 0
            try:
                while sent < size:
                    part = CHUNK[: size - sent]
                    self.wfile.write(part)
                    sent += len(part)
            except OSError:
                pass  # the capped client hung up, as it should

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fetch(url: str, capped: bool) -> None:
    import requests

    from pytest_cryptoaudit.budget import LimitOptions, SystemWatch
    from pytest_cryptoaudit.transport import Limits, limited_adapter

    session = requests.Session()
    if capped:
        adapter = limited_adapter(Limits.of(LimitOptions(), SystemWatch("bench")))
        session.mount("http://", adapter)
    began = time.perf_counter()
    try:
        outcome = f"read {len(session.get(url, timeout=60).content) / 2**20:.0f} MiB"
    except Exception as exc:  # the capped read is expected to end here
        outcome = f"refused: {exc}"[:90]
    seconds = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"capped": capped, "seconds": seconds, "peak_rss_mib": rss,
                      "outcome": outcome}))


def child(url: str, capped: bool) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    output = subprocess.run([sys.executable, __file__, "--fetch", url,
                             *(["--capped"] if capped else [])],
                            env=env, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=300)
    parser.add_argument("--fetch", help=argparse.SUPPRESS)
    parser.add_argument("--capped", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fetch:
        fetch(args.fetch, args.capped)
        return
    server = serve(args.mib)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/transit/keys"
    reference, capped = child(url, False), child(url, True)
    for run in (reference, capped):
        print(f"{'capped' if run['capped'] else 'uncapped'}: {run['peak_rss_mib']:.0f} MiB "
              f"peak RSS, {run['seconds']:.2f} s, {run['outcome']}")
    ratio = float(capped["peak_rss_mib"]) / float(reference["peak_rss_mib"])  # type: ignore[arg-type]
    print(f"ratio capped/uncapped peak RSS for a {args.mib} MiB answer: {ratio:.2f}")
    server.shutdown()


if __name__ == "__main__":
    main()
