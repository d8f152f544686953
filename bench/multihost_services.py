"""The two small servers bench/multihost.py starts on the bridge address (each its own process).

    python bench/multihost_services.py forward LISTEN_HOST:PORT TARGET [LISTEN_HOST:PORT TARGET ...]
    python bench/multihost_services.py sink LISTEN_HOST:PORT LOG_FILE [LATENCY_MS]

`forward` is a plain TCP relay (PostgreSQL and Redis listen on 127.0.0.1 only, and the
machine's configuration is not ours to change): every accepted connection gets its own
connection to the target (HOST:PORT, or unix:/path/to/socket) and bytes are copied both ways
until either side closes.

`sink` is an aiosmtpd server that accepts every message and appends one line per message to
LOG_FILE, flushed at once, then waits LATENCY_MS before answering 250: `<unix time>\t<client ip>\t<Message-ID>`. Bloom builds the
Message-ID at queue time and stores it on the outbox row (notifications/rendering.py), so the
line names the row; the client ip names the "host" (network namespace) that sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _forward(pairs: list[tuple[str, str]]) -> None:
    servers = []
    for listen, target in pairs:

        async def handle(reader, writer, target=target):
            try:
                if target.startswith("unix:"):  # the embedded PostgreSQL of bloom.devservices
                    upstream_reader, upstream_writer = await asyncio.open_unix_connection(target[5:])
                else:
                    upstream_reader, upstream_writer = await asyncio.open_connection(*_split(target))
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

        host, port = _split(listen)
        servers.append(await asyncio.start_server(handle, host, port, reuse_address=True, backlog=512))
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


class _CountingHandler:
    def __init__(self, log, latency: float) -> None:
        self.log = log
        self.latency = latency

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message_id = ""
        for line in envelope.original_content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line[:11].lower() == b"message-id:":
                message_id = line[11:].strip().decode(errors="replace")
                break
        # Accepted once the data is in, as a real server does: a client that dies before it
        # reads the 250 has still had its message delivered (and will send it again).
        self.log.write(f"{time.time():.6f}\t{session.peer[0]}\t{message_id}\n")
        self.log.flush()
        if self.latency:
            await asyncio.sleep(self.latency)  # the answer's way back across a network
        return "250 OK"


def _sink(listen: str, log_path: str, latency_ms: float) -> None:
    from aiosmtpd.controller import Controller

    host, port = _split(listen)
    with open(log_path, "a", buffering=1) as log:
        controller = Controller(_CountingHandler(log, latency_ms / 1000), hostname=host, port=port, ready_timeout=10)
        controller.start()
        print("ready", flush=True)
        stopped = []
        signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
        signal.signal(signal.SIGINT, lambda *_: stopped.append(1))
        while not stopped:
            time.sleep(0.2)
        controller.stop()


def main(argv: list[str]) -> int:
    if argv[:1] == ["forward"] and len(argv) >= 3 and len(argv) % 2 == 1:
        asyncio.run(_forward(list(zip(argv[1::2], argv[2::2], strict=True))))
        return 0
    if argv[:1] == ["sink"] and len(argv) in (3, 4):
        _sink(argv[1], argv[2], float(argv[3]) if len(argv) == 4 else 0.0)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
