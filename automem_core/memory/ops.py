"""Execute parsed memory ops against a :class:`MemoryFiles` folder.

Every rule an op can break (name, phase, writer, caps, missing file) comes back as an
:class:`OpResult` with ``ok=False`` and an ``[ERROR: …]`` block; nothing here raises for an op,
and every change goes through :meth:`MemoryFiles.apply_many` as :class:`Mutation` records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from automem_core.memory.files import MemoryFiles, encoded
from automem_core.memory.parser import READ_ONLY_OPS, MemoryOp, OpKind, check_op_args
from automem_core.memory.results import (
    EMPTY_FILE,
    OpResult,
    quoted,
    render_block,
    render_error,
    render_header,
)
from automem_core.memory.state import (
    FileState,
    Mutation,
    apply_mutation,
    copy_state,
    file_content,
    find_key,
)
from automem_core.memory.text import clean_text, shown

_COORDS_RE = re.compile(r"\(?\s*(-?\d{1,6})\s*(?:[,;]|\s)\s*(-?\d{1,6})\s*\)?")


@dataclass(frozen=True)
class _Call:
    """One op being executed: the original op, its cleaned arguments and its block header."""

    files: MemoryFiles
    op: MemoryOp
    args: tuple[str, ...]
    step: int
    file: str
    header: str

    def ok(
        self,
        body: str,
        *,
        mutations: tuple[Mutation, ...] = (),
        hits: int = 0,
        read_lines: tuple[int, ...] = (),
    ) -> OpResult:
        text = render_block(self.header, body)
        return OpResult(self.op, self.file, True, text, mutations, hits, None, read_lines)

    def fail(self, message: str) -> OpResult:
        text = render_block(self.header, render_error(message))
        return OpResult(self.op, self.file, False, text, (), 0, message)


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def map_key(coords: str) -> str | None:
    """The map file key ``(x,y)`` for coordinates written as ``3,4``, ``3, 4`` or ``(3,4)``."""
    match = _COORDS_RE.fullmatch(coords.strip())
    if match is None:
        return None
    return f"({int(match.group(1))},{int(match.group(2))})"


def _target(files: MemoryFiles, op: MemoryOp) -> str:
    if op.kind == "UPSERT_MAP":
        return files.map_file or ""
    return op.args[0] if op.args else ""


def _header(op: MemoryOp, args: tuple[str, ...], file: str) -> str:
    kind, detail = op.kind, ""
    if kind in ("SEARCH", "COUNT") and len(args) > 1:
        detail = f"for {quoted(args[1])}"
    elif kind == "TAIL" and len(args) > 1:
        detail = f"(last {shown(args[1])})"
    elif kind == "UPSERT" and len(args) > 1:
        detail = f"key {quoted(args[1])}"
    elif kind == "UPSERT_MAP" and args:
        detail = map_key(args[0]) or quoted(args[0])
    return render_header(shown(kind), file, detail)


def make_error_result(files: MemoryFiles, op: MemoryOp, message: str) -> OpResult:
    """A failed result for ``op`` that was not run (e.g. an op the scaffold has not enabled)."""
    return _make_call(files, op, 0).fail(message)


def _make_call(files: MemoryFiles, op: MemoryOp, step: int) -> _Call:
    args = tuple(clean_text(arg) for arg in op.args)
    file = _target(files, op)
    return _Call(files, op, args, step, file, _header(op, args, file))


# --------------------------------------------------------------------------- reads


def _existing(call: _Call, name: str) -> FileState | OpResult:
    reason = call.files.name_error(name)
    if reason is not None:
        return call.fail(f"invalid file name {quoted(name)}: {reason}")
    found = call.files.state.get(name)
    if found is None:
        return call.fail(f"file {quoted(name)} does not exist")
    return found


def _lines_result(call: _Call, f: FileState, picked: Sequence[int]) -> OpResult:
    if not "".join(f.lines).strip():
        return call.ok(EMPTY_FILE)
    body = "\n".join(f.lines[i] for i in picked)
    return call.ok(body, hits=len(picked), read_lines=tuple(picked))


def _search(call: _Call) -> OpResult:
    f = _existing(call, call.args[0])
    if isinstance(f, OpResult):
        return f
    keyword = call.args[1]
    needle = keyword.casefold()
    matches = [i for i, line in enumerate(f.lines) if needle in line.casefold()]
    if not matches:
        return call.ok(f"[No lines matching {quoted(keyword)}]")
    cap = max(1, call.files.limits.search_cap)
    picked = matches[-cap:]
    body = "\n".join(f.lines[i] for i in picked)
    if len(matches) > cap:
        body = f"[showing the newest {cap} of {len(matches)} matching lines]\n{body}"
    return call.ok(body, hits=len(picked), read_lines=tuple(picked))


def _read(call: _Call) -> OpResult:
    f = _existing(call, call.args[0])
    if isinstance(f, OpResult):
        return f
    return _lines_result(call, f, range(len(f.lines)))


def _tail(call: _Call) -> OpResult:
    f = _existing(call, call.args[0])
    if isinstance(f, OpResult):
        return f
    n = int(call.args[1])
    return _lines_result(call, f, range(max(0, len(f.lines) - n), len(f.lines)))


def _count(call: _Call) -> OpResult:
    f = _existing(call, call.args[0])
    if isinstance(f, OpResult):
        return f
    needle = call.args[1].casefold()
    count = sum(1 for line in f.lines if needle in line.casefold())
    return call.ok(str(count), hits=count)


# --------------------------------------------------------------------------- writes


def _writable(call: _Call, name: str, *, creates: bool, helper: bool = False) -> OpResult | None:
    """The failure when the agent (or a ``helper``) may not change ``name`` with this op."""
    files = call.files
    reason = files.name_error(name)
    if reason is not None:
        return call.fail(f"invalid file name {quoted(name)}: {reason}")
    if not helper and not files.policy(name).writable_by_agent:
        return call.fail(f"file {quoted(name)} is written by a helper, not the agent")
    if name not in files.state:
        if not creates:
            return call.fail(f"file {quoted(name)} does not exist")
        other = files.case_clash(name)
        if other is not None:
            return call.fail(f"file {quoted(name)} differs only by case from {quoted(other)}")
        if len(files.state) >= files.limits.max_files:
            return call.fail(f"too many files (max {files.limits.max_files})")
    return None


def _commit(call: _Call, mutation: Mutation, note: str = "") -> OpResult:
    """Check ``mutation`` against the file's caps, add a prune if needed, and apply it."""
    files, name = call.files, mutation.file
    before = files.state.get(name)
    trial = copy_state({name: before}) if before is not None else {}
    apply_mutation(trial, mutation, call.step)
    after = trial[name]
    n_before = len(before.lines) if before is not None else 0
    policy = files.policy(name)
    cap = policy.max_lines
    mutations = [mutation]
    dropped = 0
    if cap is not None and len(after.lines) > cap:
        allowed = cap if mutation.kind == "write" else max(cap, n_before)
        if policy.prune == "reject" and len(after.lines) > allowed:
            return call.fail(
                f"file {quoted(name)} is full ({cap} lines); {len(after.lines)} lines would "
                "not fit, so nothing was written"
            )
        if policy.prune == "drop_oldest":
            dropped = len(after.lines) - cap
            mutations.append(Mutation(kind="prune", file=name, count=dropped))
            apply_mutation(trial, mutations[-1], call.step)
    size = len(encoded(file_content(after)))
    size_before = len(encoded(file_content(before))) if before is not None else 0
    if size > files.limits.max_file_bytes and size > size_before:
        return call.fail(f"file would exceed {files.limits.max_file_bytes} bytes")
    files.apply_many(mutations, call.step)
    lines = len(files.state[name].lines)
    dropped_note = f"; dropped {_lines(dropped)} (the oldest)" if dropped else ""
    body = f"[OK: {note}{shown(name)} now has {_lines(lines)}{dropped_note}]"
    return call.ok(body, mutations=tuple(mutations))


def _append(call: _Call) -> OpResult:
    name, text = call.args
    denied = _writable(call, name, creates=True)
    return denied or _commit(call, Mutation(kind="append", file=name, text=text))


def _write(call: _Call) -> OpResult:
    name, text = call.args
    denied = _writable(call, name, creates=True)
    return denied or _commit(call, Mutation(kind="write", file=name, text=text))


def _keyed(call: _Call, name: str, key: str, text: str) -> OpResult:
    denied = _writable(call, name, creates=True)
    if denied is not None:
        return denied
    existing = call.files.state.get(name)
    updated = existing is not None and find_key(existing.lines, key) is not None
    note = f"{'updated' if updated else 'added'} key {quoted(key)}; "
    return _commit(call, Mutation(kind="upsert", file=name, key=key, text=text), note)


def _upsert(call: _Call) -> OpResult:
    name, key, text = call.args
    return _keyed(call, name, key, text)


def _upsert_map(call: _Call) -> OpResult:
    coords, text = call.args
    if call.files.map_file is None:
        return call.fail("UPSERT_MAP needs a map file, and this scaffold declares none")
    key = map_key(coords)
    if key is None:
        return call.fail(f"UPSERT_MAP needs x,y|desc with integer x,y: got {quoted(coords)}")
    return _keyed(call, call.files.map_file, key, text)


def _replace(call: _Call) -> OpResult:
    name, old, new = call.args
    denied = _writable(call, name, creates=False)
    if denied is not None:
        return denied
    count = sum(line.count(old) for line in call.files.state[name].lines)
    if count == 0:
        return call.fail(f"{quoted(old)} not found in {shown(name)}")
    note = f"replaced {count} occurrence{'s' if count != 1 else ''}; "
    return _commit(call, Mutation(kind="replace", file=name, text=new, old=old), note)


def _create(call: _Call) -> OpResult:
    name = call.args[0]
    denied = _writable(call, name, creates=True)
    if denied is not None:
        return denied
    existing = call.files.state.get(name)
    if existing is not None:
        return call.ok(f"[OK: {shown(name)} already exists ({_lines(len(existing.lines))})]")
    mutation = Mutation(kind="create", file=name)
    call.files.apply(mutation, call.step)
    return call.ok(f"[OK: created {shown(name)}]", mutations=(mutation,))


def _delete(call: _Call) -> OpResult:
    name = call.args[0]
    denied = _writable(call, name, creates=False)
    if denied is not None:
        return denied
    mutation = Mutation(kind="delete", file=name)
    call.files.apply(mutation, call.step)
    return call.ok(f"[OK: deleted {shown(name)}]", mutations=(mutation,))


_HANDLERS: dict[str, Callable[[_Call], OpResult]] = {
    "SEARCH": _search,
    "READ": _read,
    "TAIL": _tail,
    "COUNT": _count,
    "APPEND": _append,
    "WRITE": _write,
    "CREATE": _create,
    "UPSERT": _upsert,
    "UPSERT_MAP": _upsert_map,
    "REPLACE": _replace,
    "DELETE": _delete,
}


def execute_op(files: MemoryFiles, op: MemoryOp, step: int, *, read_only: bool) -> OpResult:
    """Run one op at ``step``; ``read_only`` (the PLAN phase) refuses every op that writes."""
    call = _make_call(files, op, step)
    handler = _HANDLERS.get(op.kind)
    if handler is None:
        return call.fail(f"unknown op {shown(str(op.kind))}")
    if read_only and op.kind not in READ_ONLY_OPS:
        return call.fail(f"{op.kind} is not allowed in the PLAN phase")
    arg_error = check_op_args(op.kind, call.args)
    if arg_error is not None:
        return call.fail(arg_error)
    return _guarded(call, handler)


def _guarded(call: _Call, handler: Callable[[_Call], OpResult]) -> OpResult:
    try:
        return handler(call)
    except (OSError, ValueError) as exc:  # the disk refused, e.g. a folder planted at the name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return call.fail(f"could not change file {quoted(call.file)}: {shown(reason)}")


def execute_helper_write(
    files: MemoryFiles, file: str, text: str, step: int, *, append: bool = False
) -> OpResult:
    """Replace ``file`` with ``text`` (or, with ``append``, add it as lines) for a helper (the
    status file, the action log): the checks, caps and disk guards of an agent's WRITE or
    APPEND bar the writer rule, and a failure (a folder planted at the name) comes back as a
    result, never as an exception."""
    kind: OpKind = "APPEND" if append else "WRITE"
    call = _make_call(files, MemoryOp(kind=kind, args=(file, text), raw=""), step)

    def write(call: _Call) -> OpResult:
        name, content = call.args
        denied = _writable(call, name, creates=True, helper=True)
        mutation = Mutation(kind="append" if append else "write", file=name, text=content)
        return denied or _commit(call, mutation)

    return _guarded(call, write)


def execute_helper_prune(
    files: MemoryFiles, file: str, count: int, header: str, step: int
) -> OpResult:
    """Drop the ``count`` oldest lines of ``file`` for the pruning helper and put ``header``
    first (one ``prune`` mutation, so the kept lines keep the steps that wrote them); guarded
    like :func:`execute_helper_write`."""
    call = _make_call(files, MemoryOp(kind="WRITE", args=(file, header), raw=""), step)

    def prune(call: _Call) -> OpResult:
        name, text = call.args
        if name not in call.files.state:
            return call.fail(f"file {quoted(name)} does not exist")
        mutation = Mutation(kind="prune", file=name, text=text, count=count)
        call.files.apply(mutation, call.step)
        lines = len(call.files.state[name].lines)
        body = f"[OK: pruned {_lines(count)} of {shown(name)}; it now has {_lines(lines)}]"
        return call.ok(body, mutations=(mutation,))

    return _guarded(call, prune)


def execute_ops(
    files: MemoryFiles, ops: Sequence[MemoryOp], step: int, *, read_only: bool
) -> list[OpResult]:
    """Run ``ops`` in order; those past ``max_ops_per_turn`` fail without running."""
    cap = files.limits.max_ops_per_turn
    results: list[OpResult] = []
    for i, op in enumerate(ops):
        if i < cap:
            results.append(execute_op(files, op, step, read_only=read_only))
        else:
            message = f"too many ops this turn (max {cap}); this op was not run"
            results.append(make_error_result(files, op, message))
    return results
