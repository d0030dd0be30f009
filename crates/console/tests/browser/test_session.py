"""Signing in and out, the front door's redirects, and the keyboard's way in."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    field,
    first_status,
    focus_is_visible,
    main,
    post_form,
    set_value,
    sign_in,
    sign_out,
    submit,
    where,
)


def test_the_front_door_leads_to_the_login_page(page, server):
    root = page.request.get(server.url("/"), max_redirects=0)
    assert root.status == 302, f"GET / answered {root.status}, not 302"
    assert root.headers.get("location") == "/console/", (
        f"GET / leads to {root.headers.get('location')}"
    )

    console = page.request.get(server.url("/console/"), max_redirects=0)
    assert console.status == 303, f"GET /console/ signed out answered {console.status}, not 303"
    assert console.headers.get("location", "").endswith("/console/login"), console.headers

    account = page.request.get(server.url("/console/account"), max_redirects=0)
    assert account.status == 303, (
        f"GET /console/account signed out answered {account.status}, not 303"
    )
    assert account.headers.get("location", "").endswith("/console/login"), account.headers

    page.goto(server.url("/"))
    expect(page, "GET / in a browser ends on the login page").to_have_url(
        re.compile(r"/console/login$")
    )
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_page(page, "login", dark=True)


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(page, server, api):
    role = api.role()
    user = api.user(role["id"])
    page.goto(server.url("/console/login"))
    form = post_form(page, "login")
    set_value(form, "email", user["email"])
    set_value(form, "password", "not the password")
    answer = submit(form, "Sign in")

    assert answer.status == 401, (
        f"a wrong password on the login page answered {answer.status}, not 401"
    )
    alert = page.locator('.alert.error[role="alert"]')
    expect(alert, f"the login error on {where(page)}").to_contain_text("Invalid email or password.")
    form = post_form(page, "login")
    expect(field(form, "email"), "the email is kept after a failed sign-in").to_have_value(
        user["email"]
    )
    expect(field(form, "password"), "the password is never sent back").to_have_value("")
    check_page(page, "login-failed")

    set_value(form, "password", user["password"])
    answer = submit(form, "Sign in")
    assert first_status(answer) == 303, f"a good sign-in answered {first_status(answer)}, not 303"
    expect_at(page, "account")
    expect(main(page), "the account page shows who signed in").to_contain_text(user["email"])

    console = page.request.get(server.url("/console/"), max_redirects=0)
    assert console.status == 303 and console.headers.get("location", "").endswith(
        "/console/account"
    ), (
        f"GET /console/ signed in answered {console.status} to {console.headers.get('location')}, "
        "not 303 to /console/account"
    )


def test_signing_out_ends_the_session_key(page, server, api):
    role = api.role()
    user = api.user(role["id"])
    sign_in(page, server.base, user["email"], user["password"])
    session = {c["name"]: c for c in page.context.cookies()}.get("gatehouse_session")
    assert session, f"no gatehouse_session cookie after signing in: {page.context.cookies()}"
    key = session["value"]
    assert api.me(key).status == 200, "the session cookie holds a key that works on /v1/me/info"

    sign_out(page)
    expect_at(page, "login")
    left = [c for c in page.context.cookies() if c["name"] == "gatehouse_session" and c["value"]]
    assert not left, f"the session cookie is still there after signing out: {left}"
    after = api.me(key)
    assert after.status == 401, (
        f"the session key still works after signing out: {after.status} {after.body}"
    )

    page.goto(server.url("/console/account"))
    expect(page, "signed out, the account page leads to the login page").to_have_url(
        re.compile(r"/console/login$")
    )


def test_the_master_key_signs_in_through_the_form(signed_in_admin):
    page = signed_in_admin
    expect(main(page), "the account page of the master user").to_contain_text("master")
    check_page(page, "account-master", dark=True)


def test_tab_reaches_the_skip_link_first_with_a_visible_focus(page, server, api):
    role = api.role()
    user = api.user(role["id"])
    for name, credentials in [("login", None), ("account", user)]:
        if credentials:
            sign_in(page, server.base, credentials["email"], credentials["password"])
        else:
            page.goto(server.url("/console/login"))
        page.keyboard.press("Tab")
        focused = focus_is_visible(page)
        assert focused["tag"] == "A" and focused["href"] == "#main", (
            f"the first Tab on the {name} page ({page.url}) focuses {focused}, not the skip link"
        )
        assert focused["text"] == "Skip to content", f"the skip link says {focused['text']!r}"
        assert focused["visible"], (
            f"the focused skip link on the {name} page shows no focus: {focused}"
        )
        assert focused["onScreen"], (
            f"the focused skip link on the {name} page is off screen: {focused}"
        )
        page.keyboard.press("Enter")
        expect(page, f"the skip link of the {name} page goes to #main").to_have_url(
            re.compile(r"#main$")
        )

    # Every stop of the login form shows where the focus is, and the fields come before the
    # button, in reading order.
    page.context.clear_cookies()
    page.goto(server.url("/console/login"))
    seen = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = focus_is_visible(page)
        seen.append(focused["name"] or focused["text"] or focused["tag"])
        assert focused["visible"], (
            f"Tab stop {len(seen)} of the login page shows no focus: {focused}"
        )
        if focused["tag"] == "BUTTON" and focused["text"] == "Sign in":
            break
    else:
        raise AssertionError(f"Tab never reached the 'Sign in' button of the login page: {seen}")
    assert "email" in seen and "password" in seen, f"Tab skipped a field of the login form: {seen}"
    assert seen.index("email") < seen.index("password"), f"Tab order of the login form: {seen}"
