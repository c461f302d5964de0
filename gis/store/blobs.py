"""Content-addressed, write-once file store for the binary column values the audit log refers to.

The audit log keeps a binary value (for example the original GPX file of a patrol track,
``patrol_tracks.source_data``) as a digest ``{"sha256": "<hex>", "bytes": n}``, never the bytes
themselves. The bytes go here, to ``<root>/<aa>/<sha256>`` (``aa``: the first two hex digits),
so that undoing the deletion of a row can put its file back. ``root`` defaults to
``<RIVERGRID_DATA_DIR>/blobs`` (:func:`gis.config.settings`).

A file is written once and never overwritten: it is created by an exclusive hard link from a
finished temporary file, so two writers of the same content cannot clobber each other, and a
reader never sees half a file. Files written by a transaction that is rolled back stay behind
unreferenced (harmless: named by their content, reused by a later write of the same bytes).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from gis.config import settings
from gis.errors import ConflictError

__all__ = ["BlobStore", "digest"]


def digest(data: bytes) -> dict[str, int | str]:
    """The audit log's stand-in for ``data``: ``{"sha256": hex digest, "bytes": length}``."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless the file exists; never overwrites, never leaves a partial
    file: written to a temporary file beside it, synced, then hard-linked into place (atomic, and it
    fails rather than replace a file another writer put there first). Used for every file named
    by its content (audit digests, photos and their thumbnails)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


class BlobStore:
    """The folder of binary values named by their SHA-256.

    Parameters
    ----------
    root
        Folder; default ``<RIVERGRID_DATA_DIR>/blobs``.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else settings().data_dir / "blobs"

    def path(self, sha256: str) -> Path:
        """Where the bytes with this SHA-256 (lower-case hex) are stored."""
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` unless a file with its hash exists (never overwrites); its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        write_once(self.path(sha), data)
        return sha

    def get(self, sha256: str) -> bytes:
        """The stored bytes with this SHA-256.

        Raises
        ------
        ConflictError
            The file is missing or its content no longer has this hash.
        """
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConflictError(
                f"原始文件（SHA-256 {sha256[:12]}…）已不在文件库 {self.root} 中，无法恢复",
                f"blob {sha256} missing under {self.root}",
            ) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ConflictError(
                f"文件库中的原始文件（SHA-256 {sha256[:12]}…）已损坏，无法恢复",
                f"blob {sha256} content does not match its name",
            )
        return data
