"""Full-text search over everything the agent saw, wrote and read, across every run.

Each run has its own index beside its parts (``runs/<run>/index/``), built as the run compacts
(``build.py``) and by ``automem upgrade`` for older stores; the store's proposals and labels
share one small index rebuilt when they change (``records.py``). A query (``query.py``) runs over
every run in scope; episodes an index does not hold as they are now are read in full instead,
with a note, so an answer is never wrong, only slower (``corpus.py``). Sequence queries ("A, then
B within k steps") are in ``sequence.py``.
"""

from automem_core.search.build import index_run, index_store
from automem_core.search.engine import Hit, RunCount, SearchResult, group_by_episode, search
from automem_core.search.filters import SearchFilters
from automem_core.search.query import QueryError

__all__ = [
    "Hit",
    "QueryError",
    "RunCount",
    "SearchFilters",
    "SearchResult",
    "group_by_episode",
    "index_run",
    "index_store",
    "search",
]
