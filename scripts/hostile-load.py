#!/usr/bin/env python3
"""What hostile connections cost a legitimate client, measured on loopback.

Run with: python3 scripts/hostile-load.py URL-OF-A-RUNNING-SERVER [options]

Holds N attacking sockets open against the server for a while, reconnecting each one the
server cuts, and meanwhile times `GET /healthz` from another loopback address (127.0.0.2), so
per-client caps see a different client. Prints the legitimate client's latency percentiles and
how the attack fared (connections made, refused with 429, cut by the server).

Attacks:
  slowloris   send a partial request head, then a header line every few seconds
  nonreading  pipeline `GET /openapi.json` and never read the answers

--sources K spreads the attackers over K loopback addresses (127.0.0.10, .11, ...), as a
botnet of K hosts would, to measure what bounds the server past its per-client cap.

Targets loopback only; every loop is bounded by --seconds. Not run in CI: its figures are in
the README's Security model.
"""

import argparse
import asyncio
import statistics
import time
from urllib.parse import urlparse


class Tally:
    def __init__(self):
        self.connected = 0
        self.refused = 0
        self.cut = 0


async def attacker(kind, host, port, source, stop_at, tally):
    """One attacking socket, reopened whenever the server lets it go, until `stop_at`."""
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        tally.connected += 1
        try:
            if kind == "slowloris":
                writer.write(b"POST /settle HTTP/1.1\r\nHost: x\r\n")
                await writer.drain()
                while time.monotonic() < stop_at:
                    # The server answers (429) or closes: either ends this socket.
                    try:
                        data = await asyncio.wait_for(reader.read(512), timeout=3)
                    except asyncio.TimeoutError:
                        writer.write(b"X-Drip: 1\r\n")
                        await writer.drain()
                        continue
                    if b" 429 " in data[:16]:
                        tally.refused += 1
                    else:
                        tally.cut += 1
                    break
            else:
                request = b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 200
                writer.write(request)
                # Never read; wait until the server closes the socket (a write then fails).
                while time.monotonic() < stop_at:
                    try:
                        writer.write(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
                        await asyncio.wait_for(writer.drain(), timeout=1)
                    except asyncio.TimeoutError:
                        continue
                    except OSError:
                        tally.cut += 1
                        break
                    await asyncio.sleep(0.5)
        except OSError:
            tally.cut += 1
        finally:
            writer.close()


async def legitimate(host, port, stop_at, latencies, failures):
    """`GET /healthz` from 127.0.0.2 every 100 ms, each on a fresh connection."""
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, local_addr=("127.0.0.2", 0)), timeout=30
            )
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=30)
            writer.close()
            if answer.startswith(b"HTTP/1.1 200"):
                latencies.append(time.monotonic() - started)
            else:
                failures.append(answer[:12])
        except (OSError, asyncio.TimeoutError) as error:
            failures.append(repr(error))
        await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--attack", choices=["slowloris", "nonreading"], default="slowloris")
    parser.add_argument("--sockets", type=int, default=1400)
    parser.add_argument("--sources", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    target = urlparse(args.url)
    host, port = target.hostname, target.port
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        raise SystemExit("loopback targets only")
    stop_at = time.monotonic() + args.seconds
    tally = Tally()
    sources = [f"127.0.0.{10 + i}" for i in range(args.sources)]
    tasks = [
        asyncio.create_task(
            attacker(args.attack, host, port, sources[i % len(sources)], stop_at, tally)
        )
        for i in range(args.sockets)
    ]
    # Let the attack take hold before measuring.
    await asyncio.sleep(2)
    latencies, failures = [], []
    await legitimate(host, port, stop_at, latencies, failures)
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    if latencies:
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
        print(
            f"{args.attack}, {args.sockets} sockets from {args.sources} address(es), {args.seconds:.0f} s: "
            f"legitimate /healthz {len(latencies)} ok, {len(failures)} failed; "
            f"p50 {p(0.5):.1f} ms, p90 {p(0.9):.1f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.0f} ms, "
            f"mean {statistics.mean(latencies) * 1000:.1f} ms; attack: {tally.connected} connections, "
            f"{tally.refused} refused (429), {tally.cut} cut"
        )
    else:
        print(f"no legitimate request succeeded: {failures[:5]}")


if __name__ == "__main__":
    asyncio.run(main())
