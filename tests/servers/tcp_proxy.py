#!/usr/bin/env python3
"""A TCP forwarder on loopback for the server tests: 127.0.0.1:PORT -> TARGET.

Killing it cuts every connection through it and refuses new ones; starting it again
on the same port restores the path: a client's server "unreachable", then back.
Usage: tcp_proxy.py PORT HOST:TARGET_PORT (runs until SIGTERM).
"""
import asyncio
import signal
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(port, host, target_port):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer),
                             pipe(server_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    target_host, target_port = sys.argv[2].rsplit(":", 1)
    asyncio.run(main(int(sys.argv[1]), target_host, int(target_port)))
