"""Where attachment files live: a content-addressed store, on local disk by default.

A store keeps immutable blobs under keys made from their SHA-256 (``ab/cd/abcd…``), so
the same photo uploaded twice is one file, and placing a blob twice is harmless. A
plugin that serves several web nodes from one town returns its own store (shared disk,
S3-compatible) from ``gridgeo_attachment_store``; the attachments plugin decides *when*
blobs are placed and removed (see plugins/attachments/unit.py), a store only *how*.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from gridgeo.settings import get_settings


@runtime_checkable
class AttachmentStore(Protocol):
    """Blob storage for attachments. Every method must be safe to repeat."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` all at once: readers see the whole blob or none."""

    def get(self, key: str) -> bytes | None:
        """The blob under ``key``, or None when there is none."""

    def delete(self, key: str) -> None:
        """Remove the blob under ``key``; no error when there is none."""

# A store may also offer ``keys() -> Iterator[str]`` (every stored key): the attachment
# sweep then finds blobs no row names; without it, the sweep checks rows only.


class FileStore:
    """Blobs as files under a folder (GRIDGEO_HOME/data/attachments by default).

    A blob is written to a temporary name in its final folder, flushed to disk, then
    renamed into place: a rename within one file system is atomic, so a crash leaves at
    most a ``.tmp-*`` file, never a half-written blob under a real key.
    """

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"not an attachment key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            return  # content-addressed: the same key holds the same bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".tmp-{uuid.uuid4().hex}")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every stored key (temporary files of interrupted writes are not keys)."""
        for path in self.root.glob("??/??/*"):
            if path.is_file() and not path.name.startswith("."):
                yield path.name


@lru_cache(maxsize=1)
def get_store() -> AttachmentStore:
    """The store a plugin offers through ``gridgeo_attachment_store``, else a FileStore
    under the settings' attachments folder. Two plugins offering one is a mistake said
    at first use, not a silent choice."""
    from gridgeo.plugins import get_plugin_manager

    settings = get_settings()
    offered = [s for s in get_plugin_manager().hook.gridgeo_attachment_store(settings=settings)
               if s is not None]
    if len(offered) > 1:
        names = ", ".join(type(s).__name__ for s in offered)
        raise RuntimeError(f"several plugins offer an attachment store ({names}); "
                           "install only one.")
    return offered[0] if offered else FileStore(settings.attachments)
