"""Compaction of a run kept on object storage: a part made in the mirror, committed in the store.

The mirror compacts as a local store does (``compact.py``), and before its own manifest names
the new part, the part is committed in the store:

1. the part's files are copied to ``runs/<run>/parts/<part>/`` (a name no other part has);
2. the run's manifest ``runs/<run>/manifest.json`` is replaced with one PUT that holds only if
   the store's manifest is still the one this mirror last pulled (``If-Match`` on its ETag, or
   ``If-None-Match: *`` for a run's first part). Two compactions of one run, from any machines,
   cannot both commit: the loser's PUT is refused, its part is dropped, and nothing else
   changed. This is the store's only object written by more than one kind of writer, so it is
   the only conditional write.

From step 2 on, readers take the part's episodes from the part and ignore their commit markers
(``remote.pull``); a kill before it leaves an unnamed part that no reader fetches. The episodes'
markers and attempt files, unnamed parts and replaced attempts are deleted by a later compaction
once they are :data:`GRACE_S` old, so a reader that listed them a moment ago can still fetch
them. File systems without conditional writes (only S3 offers them through fsspec here) keep
their runs uncompacted.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from automem_core.store.catalog import MANIFEST, Part, RunFiles
from automem_core.store.remote import STATE_FILE, Remote, pull, read_state, remote_of, write_atomic

log = logging.getLogger(__name__)
GRACE_S = 3600.0  # what a committed part replaced is deleted once it is this old


def conditional_writes(remote: Remote) -> bool:
    """Whether the store's file system takes ``If-Match`` / ``If-None-Match`` on a PUT."""
    protocol = remote.fs.protocol
    return "s3" in (protocol if isinstance(protocol, (tuple, list)) else (protocol,))


class StoreCommit:
    """Steps 1 and 2 of the module's note for one compaction of a mirror: ``publish`` is the
    :data:`~automem_core.store.compact.PartPublisher` given to ``compact_run``, and ``finish``
    runs after it."""

    def __init__(self, remote: Remote, root: Path) -> None:
        self.remote, self.root = remote, root
        self.etags: dict[str, str] = {}  # manifest → the ETag of the one this compaction PUT

    def publish(self, run: RunFiles, part: Part) -> bool:
        """Commit ``part`` in the store; False (nothing committed) when refused."""
        remote, rel = self.remote, f"runs/{run.run_id}/{MANIFEST}"
        expected = read_state(self.root).get(rel)
        local = run.folder / "parts" / part.part_id
        try:
            for table in part.sizes:
                name = f"{table}.parquet"
                remote.upload(local / name, f"runs/{run.run_id}/parts/{part.part_id}/{name}")
            body = json.dumps({"parts": [p.to_json() for p in [*run.parts, part]]}, indent=1)
            condition: dict[str, Any] = {"IfMatch": expected} if expected else {"mode": "create"}
            answer = remote.fs.pipe_file(remote.key(rel), body.encode(), **condition)
        except Exception as exc:  # refused (another compaction committed first) or unreachable
            refused = "PreconditionFailed" in str(exc) or isinstance(exc, FileExistsError)
            log.log(
                logging.INFO if refused else logging.WARNING,
                "run %s: part not committed to %s (%s); its episodes stay as published",
                run.run_id,
                remote.url,
                "another compaction committed first" if refused else exc,
            )
            return False
        etag = answer.get("ETag") if isinstance(answer, dict) else None
        if etag:
            self.etags[rel] = str(etag)
        return True

    def finish(self, run_id: str, grace_s: float = GRACE_S) -> None:
        """After ``compact_run`` returned: the mirror holds the manifest this compaction PUT, so
        the next pull skips it; then what committed parts replaced is cleaned."""
        if self.etags:
            state = read_state(self.root)
            state.update(self.etags)
            write_atomic(self.root / STATE_FILE, json.dumps(state).encode())
        clean_store(self.remote, self.root, run_id, grace_s)


def begin_commit(root: Path) -> StoreCommit | None:
    """The mirror ``root`` brought up to date for a compaction, or None when its store cannot
    take conditional writes (its runs stay uncompacted)."""
    remote = remote_of(root)
    if remote is None or not conditional_writes(remote):
        return None
    pull(root)  # the manifest and episodes as the store holds them now
    return StoreCommit(remote, root)


def clean_store(remote: Remote, root: Path, run_id: str, grace_s: float = GRACE_S) -> int:
    """Delete what committed parts replaced (markers and attempt files of the episodes they
    hold), parts no manifest names and attempts no marker names, once ``grace_s`` old; how
    many objects. Best effort: a failure is logged, and the next compaction tries again."""
    try:
        return _clean(remote, root, run_id, grace_s)
    except Exception as exc:  # the object store's own errors
        log.warning("run %s: old objects in %s not deleted (%s)", run_id, remote.url, exc)
        return 0


def _clean(remote: Remote, root: Path, run_id: str, grace_s: float) -> int:
    fs, base = remote.fs, remote.key(f"runs/{run_id}")
    listing: dict[str, dict[str, Any]] = fs.find(base, detail=True)
    manifest_key = f"{base}/{MANIFEST}"
    if manifest_key not in listing:
        return 0
    parts = json.loads(fs.cat_file(manifest_key)).get("parts", [])
    held = {str(e) for p in parts for e in p["episodes"]}
    named = {str(p["part_id"]) for p in parts}
    now = time.time()
    objects = {key[len(base) :].lstrip("/"): info for key, info in listing.items()}
    part_age: dict[str, float] = {}
    for rel, info in objects.items():
        bits = rel.split("/")
        if bits[0] == "parts" and len(bits) == 3:
            part_age[bits[1]] = min(part_age.get(bits[1], now), _age(info, now))
    committed_long_ago = {
        str(e) for p in parts if part_age.get(str(p["part_id"]), 0.0) >= grace_s
        for e in p["episodes"]
    }  # fmt: skip
    attempts = _marked_attempts(fs, base, objects, held)
    doomed = []
    for rel, info in objects.items():
        bits = rel.split("/")
        old = _age(info, now) >= grace_s
        if bits[0] == "commits" and bits[-1].removesuffix(".json") in committed_long_ago:
            doomed.append(rel)
        elif bits[0] == "episodes" and len(bits) == 4:
            episode, attempt = bits[1], bits[2]
            if episode in committed_long_ago or (old and attempts.get(episode) != attempt):
                doomed.append(rel)
        elif bits[0] == "parts" and len(bits) == 3 and bits[1] not in named and old:
            doomed.append(rel)
    if doomed:
        fs.rm([f"{base}/{rel}" for rel in doomed])
        log.info("run %s: deleted %d objects compacted parts replaced", run_id, len(doomed))
    return len(doomed)


def _marked_attempts(
    fs: Any, base: str, objects: dict[str, dict[str, Any]], held: set[str]
) -> dict[str, str]:
    """Episode → the attempt its commit marker names (for episodes no part holds)."""
    keys = [
        f"{base}/{rel}"
        for rel in objects
        if rel.startswith("commits/") and rel.split("/")[-1].removesuffix(".json") not in held
    ]
    found = fs.cat(keys) if keys else {}
    out = {}
    for key, data in found.items():
        episode = key.rsplit("/", 1)[-1].removesuffix(".json")
        out[episode] = str(json.loads(data)["attempt"])
    return out


def _age(info: dict[str, Any], now: float) -> float:
    stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
    if stamp is not None and hasattr(stamp, "timestamp"):
        return now - float(stamp.timestamp())
    if isinstance(stamp, (int, float)):
        return now - float(stamp)
    return 0.0  # unknown: treated as new, so kept
