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

import errno
import json
import logging
import time
from pathlib import Path
from typing import Any

from automem_core.store.catalog import MANIFEST, Part, RunFiles
from automem_core.store.remote import (
    ATTEMPTS,
    STATE_FILE,
    Remote,
    read_state,
    remote_of,
    write_atomic,
)
from automem_core.store.remote_pull import pull

log = logging.getLogger(__name__)
GRACE_S = 3600.0  # what a committed part replaced is deleted once it is this old
PROBE = ".automem/if-match-probe"  # dot-named: no pull fetches it
_honoured: dict[str, bool] = {}  # store URL → whether it refuses a PUT whose If-Match fails


def conditional_writes(remote: Remote) -> bool:
    """Whether the store takes ``If-Match`` / ``If-None-Match`` on a PUT: its file system
    passes them on (fsspec's S3), and the store refuses a PUT whose ``If-Match`` fails (an
    S3-compatible server that ignored it would let two compactions both commit). Asked once per
    process and store."""
    protocol = remote.fs.protocol
    if "s3" not in (protocol if isinstance(protocol, (tuple, list)) else (protocol,)):
        return False
    if remote.url not in _honoured:
        _honoured[remote.url] = _refuses_failed_if_match(remote)
    return _honoured[remote.url]


def _refuses_failed_if_match(remote: Remote) -> bool:
    fs, key = remote.fs, remote.key(PROBE)
    try:
        fs.pipe_file(key, b"probe")
    except Exception as exc:  # cannot write at all: the compaction's own writes will say so
        log.warning("cannot write %s (%s); runs stay uncompacted", remote.url, exc)
        return False
    try:
        fs.pipe_file(key, b"probe again", IfMatch='"automem-no-such-etag"')
    except Exception:  # refused, as it must be
        return True
    log.warning("%s ignores If-Match on a PUT: its runs stay uncompacted", remote.url)
    return False


class StoreCommit:
    """Steps 1 and 2 of the module's note for one compaction of a mirror: ``publish`` is the
    :data:`~automem_core.store.compact.PartPublisher` given to ``compact_run``, and ``finish``
    runs after it."""

    def __init__(self, remote: Remote, root: Path) -> None:
        self.remote, self.root = remote, root
        self.etags: dict[str, str] = {}  # manifest → the ETag of the one this compaction PUT

    def publish(self, run: RunFiles, part: Part) -> bool:
        """Commit ``part`` in the store; False (nothing committed) when the store's manifest is
        not the one the mirror compacted from, or moved on before the PUT."""
        remote, rel = self.remote, f"runs/{run.run_id}/{MANIFEST}"
        local = run.folder / "parts" / part.part_id
        try:
            etag, named = self._store_manifest(rel)
            if named != [p.part_id for p in run.parts]:
                return _refused(run, remote, "the store's manifest is not the one compacted from")
            for table in part.sizes:
                name = f"{table}.parquet"
                remote.upload(local / name, f"runs/{run.run_id}/parts/{part.part_id}/{name}")
            body = json.dumps({"parts": [p.to_json() for p in [*run.parts, part]]}, indent=1)
            condition: dict[str, Any] = {"IfMatch": etag} if etag else {"mode": "create"}
            answer = remote.fs.pipe_file(remote.key(rel), body.encode(), **condition)
        except FileExistsError:
            return _refused(run, remote, "another compaction committed first")
        except Exception as exc:  # refused (another compaction committed first) or unreachable
            if "Precondition" in str(exc) or getattr(exc, "errno", None) == errno.EINVAL:
                return _refused(run, remote, "another compaction committed first")
            log.warning("run %s: part not committed to %s (%s)", run.run_id, remote.url, exc)
            return False
        etag = answer.get("ETag") if isinstance(answer, dict) else None
        if etag:
            self.etags[rel] = str(etag)
        return True

    def _store_manifest(self, rel: str) -> tuple[str | None, list[str]]:
        """The store's manifest's ETag and the parts it names ((None, []) when there is none).
        The ETag is read first: if the manifest changes before it is read, the PUT made on
        that ETag is refused."""
        fs, key = self.remote.fs, self.remote.key(rel)
        fs.invalidate_cache(key)
        try:
            etag = str(fs.info(key)["ETag"])
            parts = json.loads(fs.cat_file(key)).get("parts", [])
        except FileNotFoundError:
            return None, []
        return etag, [str(p["part_id"]) for p in parts]

    def finish(self, run_id: str, grace_s: float = GRACE_S) -> None:
        """After ``compact_run`` returned: the mirror holds the manifest this compaction PUT, so
        the next pull skips it; then what committed parts replaced is cleaned."""
        if self.etags:
            state = read_state(self.root)
            state.update(self.etags)
            write_atomic(self.root / STATE_FILE, json.dumps(state).encode())
        clean_store(self.remote, self.root, run_id, grace_s)


def _refused(run: RunFiles, remote: Remote, why: str) -> bool:
    log.info("run %s: part not committed to %s (%s)", run.run_id, remote.url, why)
    return False


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
    fs, base = remote.fs, remote.key("")
    fs.invalidate_cache()
    listing = {
        **fs.find(remote.key(f"runs/{run_id}"), detail=True),
        **fs.find(remote.key(f"{ATTEMPTS}/{run_id}"), detail=True),
    }
    objects = {key[len(base) :].lstrip("/"): info for key, info in listing.items()}
    manifest = f"runs/{run_id}/{MANIFEST}"
    if manifest not in objects:
        return 0
    parts = json.loads(fs.cat_file(remote.key(manifest))).get("parts", [])
    held = {str(e) for p in parts for e in p["episodes"]}
    named = {str(p["part_id"]) for p in parts}
    now = time.time()
    kinds = {rel: _kind(rel) for rel in objects}
    part_age: dict[str, float] = {}
    for rel, (kind, part, _) in kinds.items():
        if kind == "part":
            part_age[part] = min(part_age.get(part, now), _age(objects[rel], now))
    committed_long_ago = {
        str(e) for p in parts if part_age.get(str(p["part_id"]), 0.0) >= grace_s
        for e in p["episodes"]
    }  # fmt: skip
    markers = {kinds[rel][1]: rel for rel in objects if kinds[rel][0] == "marker"}
    loose = [rel for episode, rel in markers.items() if episode not in held]
    attempts = _marked_attempts(remote, loose)  # the attempt each loose episode's marker names

    def replaced(rel: str) -> bool:
        kind, name, attempt = kinds[rel]
        if kind == "marker":
            return name in committed_long_ago
        if kind == "part":
            return name not in named and _age(objects[rel], now) >= grace_s
        if kind != "attempt" or name in held:
            return kind == "attempt" and name in committed_long_ago
        if attempts.get(name) == attempt:
            return False  # what the episode's marker names
        # Replaced by a newer attempt (unnamed since its marker was written) or never named
        # (its writer stopped before the marker): old once that is GRACE_S ago.
        since = objects.get(markers.get(name, ""), objects[rel])
        return _age(since, now) >= grace_s and _age(objects[rel], now) >= grace_s

    doomed = [rel for rel in objects if replaced(rel)]
    if doomed:
        fs.rm([remote.key(rel) for rel in doomed])
        log.info("run %s: deleted %d objects compacted parts replaced", run_id, len(doomed))
    return len(doomed)


def _kind(rel: str) -> tuple[str, str, str]:
    """What a run's object is: (``marker``, episode, ""), (``attempt``, episode, attempt),
    (``part``, part, "") or (``other``, "", "")."""
    bits = rel.split("/")
    if bits[0] == ATTEMPTS and len(bits) == 5:
        return "attempt", bits[2], bits[3]
    if bits[0] == "runs" and len(bits) >= 4:
        if bits[2] == "commits" and len(bits) == 4:
            return "marker", bits[3].removesuffix(".json"), ""
        if bits[2] == "episodes" and len(bits) == 6:  # as stores kept them before attempts/
            return "attempt", bits[3], bits[4]
        if bits[2] == "parts" and len(bits) == 5:
            return "part", bits[3], ""
    return "other", "", ""


def _marked_attempts(remote: Remote, markers: list[str]) -> dict[str, str]:
    """Episode → the attempt its commit marker names."""
    found = remote.fs.cat([remote.key(m) for m in markers]) if markers else {}
    return {
        key.rsplit("/", 1)[-1].removesuffix(".json"): str(json.loads(data)["attempt"])
        for key, data in found.items()
    }


def _age(info: dict[str, Any], now: float) -> float:
    stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
    if stamp is not None and hasattr(stamp, "timestamp"):
        return now - float(stamp.timestamp())
    if isinstance(stamp, (int, float)):
        return now - float(stamp)
    return 0.0  # unknown: treated as new, so kept
