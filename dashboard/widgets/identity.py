"""Who is using the page: every label, approval and export is signed with it.

With an OpenID Connect provider configured (Streamlit's ``st.login``, an ``[auth]`` section in
``.streamlit/secrets.toml``), the signed-in user's email is the author and there is no name to
type. Without one (a dashboard on localhost, the default), the person types a name once per
browser session: it lives in the session and in the URL (``?who=``), so it holds across pages,
reloads and deep links. Until there is an author, nothing can be signed: the pages disable their
buttons. The operating system's user is never used.
"""

from __future__ import annotations

import streamlit as st

PARAM = "who"  # the URL's query parameter
NAME = "people.name"  # the session's chosen name
FIELD = "people.field"  # the sidebar's text field


def auth_configured() -> bool:
    """Whether an OpenID Connect provider is configured for ``st.login``."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current() -> str:
    """The author of this session's acts, or "" when none is known yet."""
    if auth_configured():
        user = st.user
        return str(user.get("email") or "") if user.is_logged_in else ""
    return str(st.session_state.get(NAME) or "")


def _adopt_name() -> None:
    st.session_state[NAME] = str(st.session_state.get(FIELD) or "").strip()


def sidebar() -> str:
    """The identity box of the sidebar (drawn by the app on every page); the author."""
    if auth_configured():
        if st.user.is_logged_in:
            st.caption(f"Signed in as {st.user.get('email')}")
            st.button("Sign out", key="people.logout", on_click=st.logout)
        else:
            st.button("Sign in", key="people.login", type="primary", on_click=st.login)
            st.caption("Sign in to label and approve: your email signs what you do.")
        return current()
    if NAME not in st.session_state:  # a new session: the URL may carry the name
        st.session_state[NAME] = str(st.query_params.get(PARAM) or "").strip()
    if st.session_state.get(FIELD) != st.session_state[NAME]:
        st.session_state[FIELD] = st.session_state[NAME]
    st.text_input(
        "Your name", key=FIELD, on_change=_adopt_name, placeholder="type it once",
        help="Labels, approvals and exports are signed with it",
    )  # fmt: skip
    name = current()
    if name and st.query_params.get(PARAM) != name:
        st.query_params[PARAM] = name
    if not name:
        st.caption("Type your name to label or approve.")
    return name


def keep_in_url(params: dict[str, str]) -> dict[str, str]:
    """``params`` plus the identity parameter, for a page that rewrites its URL."""
    name = current()
    return {**params, PARAM: name} if name and not auth_configured() else params
