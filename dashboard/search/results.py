"""Search results as HTML: hits grouped by episode, each with where it is, a link into the
Replay at its step (the matched words marked there) and its snippets. Every text an agent, a
game or a person wrote is escaped (``dashboard.render``); only the marks around matches are
markup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from automem_core.search import Hit, RunCount, group_by_episode
from automem_core.search.highlight import Snippet
from automem_core.search.report import where
from automem_core.search.sequence import SequenceMatch
from dashboard.render import escape_text

KeepInUrl = Callable[[dict[str, str]], dict[str, str]]


def snippet_html(s: Snippet) -> str:
    out, pos = [], 0
    for start, end in s.spans:
        out += [escape_text(s.text[pos:start]), '<mark class="am-hit">',
                escape_text(s.text[start:end]), "</mark>"]  # fmt: skip
        pos = end
    out.append(escape_text(s.text[pos:]))
    body = ("…" if s.cut_before else "") + "".join(out) + ("…" if s.cut_after else "")
    return f'<div class="am-ssnip"><span class="am-sfield">{s.field}</span>{body}</div>'


def replay_href(hit: Hit, keep: KeepInUrl) -> str | None:
    """The Replay at the hit's step, its matched words marked (None: not about an episode)."""
    if not (hit.run_id and hit.episode_id) or hit.step is None:
        return None
    params = {"run": hit.run_id, "episode": hit.episode_id, "step": str(max(hit.step, 0))}
    if hit.words:
        params["highlight"] = " ".join(hit.words)
    return "replay?" + urlencode(keep(params))


def hit_html(hit: Hit, keep: KeepInUrl) -> str:
    href = replay_href(hit, keep)
    place = escape_text(where(hit))
    head = (
        f'<a class="am-slink" href="{escape_text(href)}" target="_self">{place}</a>'
        if href
        else f"<span>{place}</span>"
    )
    return f'<div class="am-shit">{head}{"".join(snippet_html(s) for s in hit.snippets)}</div>'


def _head(episode_id: str | None, hits: Sequence[Hit]) -> str:
    if episode_id is None:
        return '<div class="am-shead"><b>Proposals and labels</b></div>'
    h = hits[0]
    facts = " · ".join(escape_text(str(x)) for x in (h.game, h.task, f"seed {h.seed}", h.version,
                                                     h.status) if x)  # fmt: skip
    count = f"{len(hits)} hit{'' if len(hits) == 1 else 's'} shown"
    return (
        f'<div class="am-shead"><b>{escape_text(episode_id)}</b> '
        f'<span class="am-dim">{facts} · {count}</span></div>'
    )


def hits_html(hits: Sequence[Hit], keep: KeepInUrl) -> str:
    """The hits grouped by episode (the groups in the order of their best hit)."""
    groups = [
        f'<div class="am-sgroup">{_head(e, group)}{"".join(hit_html(h, keep) for h in group)}</div>'
        for e, group in group_by_episode(hits)
    ]
    return f'<div class="am-search">{"".join(groups)}</div>'


def counts_html(counts: Sequence[RunCount], versions: dict[str, int]) -> str:
    """Two small tables: hits per run (with its game and version), hits per version."""
    runs = "".join(
        f"<tr><td>{escape_text(c.run_id)}</td><td>{escape_text(c.game)}</td>"
        f'<td>{escape_text(c.version)}</td><td class="am-n">{c.hits:,}</td></tr>'
        for c in counts
    )
    per_version = "".join(
        f'<tr><td>{escape_text(v)}</td><td class="am-n">{n:,}</td></tr>'
        for v, n in versions.items()
    )
    return (
        '<div class="am-scounts"><table class="am-per-run"><tr><th>run</th><th>game</th>'
        f'<th>version</th><th>hits</th></tr>{runs}</table><table class="am-per-version">'
        f"<tr><th>version</th><th>hits</th></tr>{per_version}</table></div>"
    )


def matches_html(matches: Sequence[SequenceMatch], keep: KeepInUrl) -> str:
    """A sequence query's matches: the first text, then what followed (or that nothing did)."""
    rows = []
    for m in matches:
        after = (
            f"then at step {m.then_step}" if m.then_step is not None else "nothing after it"
        ) + (" (the episode ended before the window did)" if m.cut_short else "")
        parts = [hit_html(h, keep) for h in (m.first, m.then) if h is not None]
        rows.append(
            f'<div class="am-sgroup"><div class="am-shead"><b>{escape_text(m.episode_id)}</b> '
            f'<span class="am-dim">step {m.step} · {after}</span></div>{"".join(parts)}</div>'
        )
    return f'<div class="am-search">{"".join(rows)}</div>'
