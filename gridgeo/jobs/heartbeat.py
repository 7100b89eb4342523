"""Job workers say they are alive: a row per worker in ``gridgeo.job_workers``, renewed
every few seconds from a thread (so a long job does not look like a dead worker)."""

from __future__ import annotations

import logging
import os
import socket
import threading

import psycopg

LOGGER = logging.getLogger(__name__)
BEAT_SECONDS = 10.0
# /readyz counts a worker alive when its last beat is this recent.
ALIVE_WITHIN = "60 seconds"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(conn: psycopg.Connection) -> None:
    conn.execute(
        "INSERT INTO gridgeo.job_workers (worker_id, host, pid) VALUES (%s, %s, %s)"
        " ON CONFLICT (worker_id) DO UPDATE SET heartbeat = now()",
        (worker_id(), socket.gethostname(), os.getpid()))


def run_heartbeat(database_url: str, stop: threading.Event) -> None:
    """Beat until ``stop``; then remove this worker's row. A lost connection is retried."""
    while not stop.is_set():
        try:
            with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
                while not stop.is_set():
                    beat(conn)
                    stop.wait(BEAT_SECONDS)
                conn.execute("DELETE FROM gridgeo.job_workers WHERE worker_id = %s",
                             (worker_id(),))
        except psycopg.Error as exc:
            LOGGER.warning("heartbeat failed (%s); retrying", exc)
            stop.wait(BEAT_SECONDS)


def start_heartbeat(database_url: str, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=run_heartbeat, args=(database_url, stop),
                              name="gridgeo-heartbeat", daemon=True)
    thread.start()
    return thread
