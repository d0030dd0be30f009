"""Signing in with SSO as a person does: the login page's "Sign in with SSO", the OpenID
provider's sign-in form, and back to the console signed in; a password account linked by its
email; someone refused, who gets no session.

The provider is the real test one (npm `oidc-provider` on loopback, started by
scripts/oidc-provider.sh, which leaves it running for the next run, as the Rust tests do;
crates/server/tests/oidc/provider.mjs says what it serves): any login and any password sign in,
the email claim is the login, verified unless the login starts with `unverified-`.

This module's server has sign-on on (the `server_env` fixture below), creating users with the
role SSO_ROLE_ID, and only for emails of example.org.
"""

import json
import os
import re
import secrets
import subprocess
import urllib.parse

import pytest
from playwright.sync_api import Page, Response, expect

from support import ROOT, call, check_page, expect_at, main, shot, sign_out

CLIENT_ID = "gatehouse-test"
CLIENT_SECRET = "gatehouse-test-secret"
ALLOWED_DOMAIN = "example.org"
CALLBACK = "/v1/auth/oidc/callback"
SSO_LINK = "/v1/auth/oidc/login?redirect=/console/account"
REFUSED = {"detail": "Not allowed to sign in."}
# The role of the users sign-on creates. The server reads OIDC_DEFAULT_ROLE as a bare id, and
# only when someone signs in, so the role need not exist at its start (it cannot: the database is
# migrated by that start). The module's database is fresh and role ids start at 1, so the first
# role made through the API, by the autouse `sso_role` fixture before any test, is this one
# (the fixture checks it).
SSO_ROLE_ID = 1


@pytest.fixture(scope="module")
def oidc_issuer() -> str:
    """The test provider's issuer: OIDC_TEST_ISSUER when the test run started one
    (scripts/test.sh), else the one scripts/oidc-provider.sh starts if it is not running."""
    if os.environ.get("OIDC_TEST_ISSUER"):
        return os.environ["OIDC_TEST_ISSUER"]
    done = subprocess.run(
        [str(ROOT / "scripts/oidc-provider.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"scripts/oidc-provider.sh failed: {done.stderr.strip()}"
    for line in done.stdout.splitlines():
        if line.startswith("OIDC_ISSUER_URL="):
            return line.removeprefix("OIDC_ISSUER_URL=")
    raise AssertionError(f"scripts/oidc-provider.sh printed no OIDC_ISSUER_URL: {done.stdout!r}")


@pytest.fixture(scope="module")
def server_env(oidc_issuer) -> dict[str, str]:
    """Sign-on on, against the test provider: its client is `native`, so the callback of any
    loopback port is an allowed redirect URI, and PUBLIC_URL is the server's own address."""
    return {
        "OIDC_ISSUER_URL": oidc_issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "PUBLIC_URL": "{base}",
        "OIDC_DEFAULT_ROLE": str(SSO_ROLE_ID),
        "OIDC_ALLOWED_EMAIL_DOMAINS": ALLOWED_DOMAIN,
    }


@pytest.fixture(scope="module", autouse=True)
def sso_role(api) -> dict:
    role = api.role("SSO users")
    assert role["id"] == SSO_ROLE_ID, (
        f"the first role of a fresh database has id {role['id']}, not {SSO_ROLE_ID}: "
        "OIDC_DEFAULT_ROLE names another role"
    )
    return role


def login_of(prefix: str, domain: str = ALLOWED_DOMAIN) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@{domain}"


def provider_account(issuer: str, login: str) -> dict:
    """The claims the provider gives for `login`: sub, email, email_verified, name."""
    answer = call(issuer, "GET", "/test/account?" + urllib.parse.urlencode({"login": login}))
    assert answer.status == 200, f"the provider's /test/account answered {answer.status}"
    return answer.body


def users_with_email(api, email: str) -> list[dict]:
    listed = api.ok("GET", "/v1/admin/users?limit=100")
    return [user for user in listed["data"] if user["email"] == email]


def user_count(api) -> int:
    return api.ok("GET", "/v1/admin/users?limit=1")["total"]


def session_key(page: Page) -> str | None:
    for cookie in page.context.cookies():
        if cookie["name"] == "gatehouse_session" and cookie["value"]:
            return cookie["value"]
    return None


def start_sso(page: Page, server) -> None:
    """Opens the login page and follows its link "Sign in with SSO"."""
    page.goto(server.url("/console/login"))
    link = main(page).get_by_role("link", name="Sign in with SSO", exact=True)
    expect(link, "the login page offers 'Sign in with SSO'").to_have_count(1)
    expect(link).to_have_attribute("href", SSO_LINK)
    link.click()


def sign_in_at_provider(page: Page, issuer: str, login: str) -> Response:
    """Fills the provider's sign-in form (its page, not the console's: found by field names, as
    oidc-provider's development form has no labels) and submits it; returns the answer of
    Gatehouse's callback that the provider sends the browser back to."""
    expect(page, "the SSO link leads to the provider's sign-in form").to_have_url(
        re.compile(rf"^{re.escape(issuer)}/interaction/")
    )
    form = page.locator('form[method="post"]').filter(has=page.locator('input[name="login"]'))
    expect(form, f"the provider's sign-in form at {page.url}").to_have_count(1)
    form.locator('input[name="login"]').fill(login)
    form.locator('input[name="password"]').fill(f"any password {secrets.token_hex(4)}")
    with page.expect_response(
        lambda response: urllib.parse.urlsplit(response.url).path == CALLBACK
    ) as callback:
        form.get_by_role("button", name="Sign-in").click()
    page.wait_for_load_state()
    return callback.value


def expect_signed_in(page: Page, server, callback: Response, email: str) -> str:
    """The callback sent the browser to /console/account with a session cookie, and the account
    page shows `email`; returns the session key."""
    assert callback.status == 302, f"the callback answered {callback.status}, not 302"
    assert callback.headers.get("location") == "/console/account", callback.headers
    expect_at(page, "account")
    expect(main(page), "the account page shows who signed in").to_contain_text(email)
    key = session_key(page)
    assert key, f"no gatehouse_session cookie after signing in: {page.context.cookies()}"
    return key


def test_the_login_page_offers_sso_and_passes_its_checks(page, server):
    page.goto(server.url("/console/login"))
    link = main(page).get_by_role("link", name="Sign in with SSO", exact=True)
    expect(link, "the login page offers 'Sign in with SSO' with SSO on").to_be_visible()
    expect(link).to_have_attribute("href", SSO_LINK)
    check_page(page, "login-sso", dark=True)


def test_sso_creates_the_user_and_signs_in_to_the_console(page, server, api, oidc_issuer):
    login = "ada@example.org"
    assert not users_with_email(api, login), f"{login} exists before signing in"

    start_sso(page, server)
    callback = sign_in_at_provider(page, oidc_issuer, login)
    key = expect_signed_in(page, server, callback, login)
    shot(page, "account-sso")

    users = users_with_email(api, login)
    assert len(users) == 1, f"users with the email {login} after signing in: {users}"
    user = users[0]
    assert user["sub"] == provider_account(oidc_issuer, login)["sub"], user
    assert user["iss"] == oidc_issuer, user
    assert user["role"] == SSO_ROLE_ID, user
    me = api.me(key)
    assert me.status == 200 and me.body["id"] == user["id"], (
        f"the session cookie's key is not {login}'s: {me.status} {me.body}"
    )

    # The session is the console's own: signing out ends it.
    sign_out(page)
    assert api.me(key).status == 401, "the session key still works after signing out"


def test_sso_links_a_password_user_with_the_same_email(page, server, api, oidc_issuer):
    user = api.user(SSO_ROLE_ID, email=login_of("grace"))
    before = user_count(api)

    start_sso(page, server)
    callback = sign_in_at_provider(page, oidc_issuer, user["email"])
    key = expect_signed_in(page, server, callback, user["email"])

    assert user_count(api) == before, "signing in with SSO created a user beside the linked one"
    me = api.me(key)
    assert me.status == 200 and me.body["id"] == user["id"], (
        f"the session is not the password user's ({user['id']}): {me.status} {me.body}"
    )
    linked = api.ok("GET", f"/v1/admin/users/{user['id']}")
    assert linked["sub"] == provider_account(oidc_issuer, user["email"])["sub"], linked
    assert linked["iss"] == oidc_issuer, linked
    assert api.login(user["email"], user["password"]).status == 200, (
        "the linked user's password no longer works"
    )


@pytest.mark.parametrize(
    "who",
    ["another-domain", "unverified-email-of-an-account"],
)
def test_someone_refused_sees_403_and_gets_no_session(page, server, api, oidc_issuer, who):
    if who == "another-domain":
        # Not of OIDC_ALLOWED_EMAIL_DOMAINS: refused before any account is made.
        login = login_of("eve", "elsewhere.org")
        existing = None
    else:
        # A password account whose email the provider does not vouch for: never linked.
        login = login_of("unverified-alan")
        existing = api.user(SSO_ROLE_ID, email=login)
    before = user_count(api)

    start_sso(page, server)
    callback = sign_in_at_provider(page, oidc_issuer, login)

    assert callback.status == 403, f"the callback for {login} answered {callback.status}, not 403"
    assert callback.json() == REFUSED, callback.text()
    shown = json.loads(page.locator("body").inner_text())
    assert shown == REFUSED, f"the browser shows {shown!r}"
    assert session_key(page) is None, f"a refused sign-in left a session: {page.context.cookies()}"
    page.goto(server.url("/console/account"))
    expect(page, "refused, the account page leads to the login page").to_have_url(
        re.compile(r"/console/login$")
    )

    assert user_count(api) == before, f"refusing {login} created a user"
    if existing is not None:
        kept = api.ok("GET", f"/v1/admin/users/{existing['id']}")
        assert kept["sub"] is None and kept["iss"] is None, f"a refused sign-in linked {kept}"
