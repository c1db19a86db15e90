"""File-system memory: op parser, pure memory model, sandboxed folder and op execution."""

from automem_core.memory.files import (
    FilePolicy,
    MemoryFiles,
    MemoryLimits,
    MemoryNameError,
    PruneRule,
    check_file_name,
)
from automem_core.memory.ops import (
    execute_helper_prune,
    execute_helper_write,
    execute_op,
    execute_ops,
    make_error_result,
    map_key,
)
from automem_core.memory.parser import (
    OP_FORMS,
    OP_KINDS,
    READ_ONLY_OPS,
    MemoryOp,
    OpKind,
    ParseResult,
    check_op_args,
    parse_completion,
)
from automem_core.memory.results import OpResult, render_parse_error, render_results
from automem_core.memory.state import (
    FileState,
    MemoryState,
    Mutation,
    MutationKind,
    apply_mutation,
    copy_state,
    snapshot,
)
from automem_core.memory.text import clean_text

__all__ = [
    "OP_FORMS",
    "OP_KINDS",
    "READ_ONLY_OPS",
    "FilePolicy",
    "FileState",
    "MemoryFiles",
    "MemoryLimits",
    "MemoryNameError",
    "MemoryOp",
    "MemoryState",
    "Mutation",
    "MutationKind",
    "OpKind",
    "OpResult",
    "ParseResult",
    "PruneRule",
    "apply_mutation",
    "check_file_name",
    "check_op_args",
    "clean_text",
    "copy_state",
    "execute_helper_prune",
    "execute_helper_write",
    "execute_op",
    "execute_ops",
    "make_error_result",
    "map_key",
    "parse_completion",
    "render_parse_error",
    "render_results",
    "snapshot",
]
