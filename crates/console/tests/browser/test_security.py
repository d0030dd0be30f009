"""The console's defences: a POST without its CSRF token changes nothing, every answer carries
the security headers, and the cookies are out of reach of scripts and other sites."""

import re

from playwright.sync_api import expect

from support import (
    CSP_DIRECTIVES,
    CSRF_EXPIRED,
    check_page,
    main,
    post_form,
    set_value,
    sign_in,
    submit,
    unique,
)


def expect_security_headers(headers: dict, what: str, page_like: bool) -> None:
    policy = headers.get("content-security-policy")
    assert policy, f"{what}: no Content-Security-Policy"
    directives = {" ".join(d.split()) for d in policy.split(";") if d.strip()}
    for directive in CSP_DIRECTIVES:
        assert directive in directives, f"{what}: the CSP lacks {directive!r}: {policy}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (
        f"{what}: the CSP allows {policy}"
    )
    assert headers.get("x-frame-options", "").upper() == "DENY", (
        f"{what}: X-Frame-Options {headers.get('x-frame-options')}"
    )
    assert headers.get("x-content-type-options") == "nosniff", (
        f"{what}: X-Content-Type-Options {headers.get('x-content-type-options')}"
    )
    assert headers.get("referrer-policy") == "same-origin", (
        f"{what}: Referrer-Policy {headers.get('referrer-policy')}"
    )
    if page_like:
        assert "no-store" in headers.get("cache-control", ""), (
            f"{what}: Cache-Control {headers.get('cache-control')}"
        )


def test_every_console_answer_carries_the_security_headers(page, server, api):
    seen = []
    page.on(
        "response", lambda response: seen.append(response) if "/console" in response.url else None
    )
    role = api.role()
    user = api.user(role["id"])

    # Anonymous: the redirect, the login page and its assets, a failed sign-in.
    page.goto(server.url("/console/"))
    form = post_form(page, "login")
    set_value(form, "email", user["email"])
    set_value(form, "password", "wrong password")
    submit(form, "Sign in")
    # Signed in: pages, a 403 (an admin page), a 404 (a key that is not there).
    sign_in(page, server.base, user["email"], user["password"])
    page.goto(server.url("/console/keys"))
    page.goto(server.url("/console/admin/users"))
    page.goto(server.url("/console/keys/999999999/delete"))

    statuses = {response.status for response in seen}
    assert {200, 303, 401, 403, 404} <= statuses, (
        f"the walk did not meet every kind of answer: {statuses}"
    )
    kinds = {response.request.resource_type for response in seen}
    assert {"document", "stylesheet"} <= kinds, f"no page or stylesheet was loaded: {kinds}"
    for response in seen:
        what = f"{response.request.method} {response.url} ({response.status})"
        page_like = (
            response.request.resource_type == "document" and not 300 <= response.status < 400
        )
        expect_security_headers(response.headers, what, page_like)


def test_the_cookies_are_http_only_and_same_site(page, server, api):
    role = api.role()
    user = api.user(role["id"])
    sign_in(page, server.base, user["email"], user["password"])
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies.get("gatehouse_session")
    assert session, f"no session cookie: {list(cookies)}"
    assert session["httpOnly"], "the session cookie is readable by scripts"
    assert session["sameSite"] == "Lax", f"the session cookie is SameSite={session['sameSite']}"
    assert session["path"] == "/console", f"the session cookie's path is {session['path']}"
    assert not session["secure"], "Secure only when PUBLIC_URL is https (here: plain http)"
    csrf = cookies.get("gatehouse_csrf")
    assert csrf, f"no CSRF cookie: {list(cookies)}"
    assert csrf["httpOnly"] and csrf["sameSite"] == "Strict" and csrf["path"] == "/console", csrf
    assert page.evaluate("() => document.cookie") == "", "a script can read the console's cookies"


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(signed_in_admin, server, api):
    page = signed_in_admin
    page.goto(server.url("/console/admin/organizations"))
    form = post_form(page, "admin/organizations")
    token = form.locator('input[type="hidden"][name="csrf"]')
    expect(token, "the form carries a hidden csrf field").to_have_count(1)
    assert token.input_value(), "the csrf field is empty"

    before = api.ok("GET", "/v1/admin/organizations?limit=1")["total"]
    name = unique("Forged")
    # The session cookie goes along (the context's request shares it), the token does not.
    for form_data in ({"name": name}, {"name": name, "csrf": "forged"}, {"name": name, "csrf": ""}):
        answer = page.request.post(
            server.url("/console/admin/organizations"), form=form_data, max_redirects=0
        )
        assert answer.status == 403, f"a POST with {form_data} answered {answer.status}, not 403"
        assert CSRF_EXPIRED in answer.text(), f"the 403 page does not say {CSRF_EXPIRED!r}"
    after = api.ok("GET", "/v1/admin/organizations?limit=100")
    assert after["total"] == before and all(o["name"] != name for o in after["data"]), (
        "a forged POST changed something"
    )

    # A person with a stale form: the token removed from the page, then submitted.
    set_value(form, "name", name)
    token.evaluate("input => input.remove()")
    with page.expect_navigation() as navigation:
        form.get_by_role("button", name="Create organization", exact=True).click()
    assert navigation.value.status == 403, (
        f"the form without its token answered {navigation.value.status}"
    )
    expect(main(page), "the 403 page of an expired form").to_contain_text(CSRF_EXPIRED)
    check_page(page, "csrf-refused")
    assert api.ok("GET", "/v1/admin/organizations?limit=1")["total"] == before

    # Signing out needs the token too: without it the session goes on.
    answer = page.request.post(server.url("/console/logout"), form={}, max_redirects=0)
    assert answer.status == 403, (
        f"a POST to logout without its token answered {answer.status}, not 403"
    )
    page.goto(server.url("/console/account"))
    expect(page, "the session survived a forged sign-out").to_have_url(
        re.compile(r"/console/account$")
    )
