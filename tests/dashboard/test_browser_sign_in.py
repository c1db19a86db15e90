"""Signing in through an OpenID Connect provider: with ``[auth]`` configured, the dashboard asks
the person to sign in (no name field), and the label they record carries their email. The
provider is a real one on localhost (``testing/oidc_provider.py``); the browser is Chromium."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from automem_core.testing.sample_store import play_fake_run
from automem_core.testing.served import CHROMIUM, CHROMIUM_ARGS, served_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EMAIL = "ana.lopez@example.org"
IDLE = """() => document.querySelector('[data-testid="stApp"]')
  ?.getAttribute('data-test-script-state') === 'notRunning'"""


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("authlib", reason="signing in needs Authlib")
    from automem_core.mining.mine import mine
    from automem_core.testing.oidc_provider import OIDCProvider

    root = tmp_path_factory.mktemp("signin") / "data"
    play_fake_run(root, tasks=("grid",), seeds=(0,), steps=8, run_id="lab", seed_set="mining")
    mine(root, ["lab"])
    with OIDCProvider(email=EMAIL) as provider:

        def secrets(url: str) -> str:
            return (
                "[auth]\n"
                f'redirect_uri = "{url}/oauth2callback"\n'
                'cookie_secret = "a-long-random-cookie-secret-for-the-test-only-0123456789"\n'
                f'client_id = "{provider.client_id}"\n'
                f'client_secret = "{provider.client_secret}"\n'
                f'server_metadata_url = "{provider.issuer}/.well-known/openid-configuration"\n'
            )

        log = tmp_path_factory.mktemp("log") / "streamlit.log"
        with served_dashboard(root, log, secrets=secrets) as url:
            yield url, root


def test_the_signed_in_email_signs_the_label(signed):
    sync_api = pytest.importorskip("playwright.sync_api", reason="install the dev extra")
    expect, sync_playwright = sync_api.expect, sync_api.sync_playwright
    from automem_core.store.records import read_records

    url, root = signed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{url}/label")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
        assert page.locator(".st-key-people-field").count() == 0  # no name to type
        expect(page.locator(".st-key-label-good button")).to_be_disabled()
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text(f"Signed in as {EMAIL}")).to_be_visible(timeout=30_000)
        page.goto(f"{url}/label")
        expect(page.locator(".st-key-label-good button")).to_be_enabled(timeout=30_000)
        page.wait_for_function(IDLE, timeout=30_000)
        page.locator(".st-key-label-good button").click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not read_records(root, "labels").num_rows:
            time.sleep(0.2)
        browser.close()
    (label,) = read_records(root, "labels").to_pylist()
    assert label["author"] == EMAIL and label["source"] == "human"
