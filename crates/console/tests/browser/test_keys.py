"""API keys: one's own (created, shown once, usable as a Bearer, listed masked, deleted with
confirmation) and, for admins, any user's."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_flash,
    first_status,
    get_form,
    go,
    main,
    no_row,
    post_form,
    row,
    row_link,
    set_value,
    sign_in,
    submit,
    unique,
    where,
)


def read_new_key(page) -> str:
    """The key of the "Key created" page, shown once in `<code id="new-key">`."""
    expect(page.get_by_role("heading", level=1), f"the heading of {where(page)}").to_have_text(
        "Key created"
    )
    code = page.locator("code#new-key")
    expect(code, f"the new key in <code id='new-key'> on {where(page)}").to_have_count(1)
    key = code.inner_text().strip()
    assert re.fullmatch(r"sk-[A-Za-z0-9_-]+", key), f"the page shows {key!r} as the new key"
    return key


def test_an_admin_creates_reads_uses_and_deletes_their_own_key(page, server, api):
    admin_role = api.role(unique("Admins"), permissions=["admin"])
    admin = api.user(admin_role["id"])
    sign_in(page, server.base, admin["email"], admin["password"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)

    go(page, "Keys")
    expect_at(page, "keys")
    check_page(page, "keys", dark=True)
    name = unique("laptop")
    form = post_form(page, "keys")
    set_value(form, "name", name)
    set_value(form, "expires", "2099-01-31")
    answer = submit(form, re.compile(r"^Create"))
    assert answer.ok, f"creating a key answered {answer.status}: {where(page)}"
    key = read_new_key(page)
    check_page(page, "key-created", dark=True)

    # The "Copy" button puts it on the clipboard.
    main(page).get_by_role("button", name="Copy", exact=True).click()
    copied = None
    for _ in range(50):
        copied = page.evaluate("() => navigator.clipboard.readText()")
        if copied == key:
            break
        page.wait_for_timeout(100)
    assert copied == key, f"the Copy button of {where(page)} copied {copied!r}, not the key"

    # It works as a Bearer and is the admin's.
    me = api.me(key)
    assert me.status == 200 and me.body["email"] == admin["email"], (
        f"/v1/me/info with the new key: {me.status} {me.body}"
    )

    # Listed masked, never whole again.
    mine = [
        k
        for k in api.ok("GET", f"/v1/admin/tokens?user={admin['id']}&limit=100")["data"]
        if k["name"] == name
    ]
    assert len(mine) == 1, f"the key {name!r} is not stored"
    masked, identifier = mine[0]["token"], mine[0]["id"]
    go(page, "Keys")
    expect(row(page, name), "the list shows the key masked").to_contain_text(masked)
    assert key not in page.content(), f"the key list at {page.url} shows the whole key"

    # Delete: Cancel keeps it, Delete removes it, and it stops working at once.
    row_link(row(page, name), "Delete").click()
    expect_at(page, rf"keys/{identifier}/delete")
    check_page(page, "key-delete")
    main(page).get_by_role("link", name="Cancel", exact=True).click()
    page.wait_for_load_state()
    assert api.me(key).status == 200, "Cancel deleted the key"
    page.goto(server.url(f"/console/keys/{identifier}/delete"))
    answer = submit(post_form(page, f"keys/{identifier}/delete"), "Delete")
    assert first_status(answer) == 303, f"deleting a key answered {first_status(answer)}, not 303"
    expect_at(page, "keys")
    expect_flash(page)
    no_row(page, name)
    assert api.me(key).status == 401, "the deleted key still works"


def test_a_key_bound_to_a_project_of_mine(page, server, api):
    role = api.role()
    organization = api.organization()
    user = api.user(role["id"], organization=organization["id"])
    project = api.ok(
        "POST", "/v1/admin/projects", {"name": unique("Apollo"), "organization": organization["id"]}
    )
    api.ok("PUT", f"/v1/admin/projects/{project['id']}/members/{user['id']}")
    sign_in(page, server.base, user["email"], user["password"])
    go(page, "Keys")
    form = post_form(page, "keys")
    set_value(form, "name", unique("bound"))
    set_value(form, "project", project["id"])
    submit(form, re.compile(r"^Create"))
    key = read_new_key(page)
    me = api.me(key)
    assert me.status == 200 and me.body.get("project") == project["id"], (
        f"a key created for project {project['id']} is not bound to it: {me.body}"
    )


def test_an_admin_creates_a_key_for_a_user(signed_in_admin, server, api):
    page = signed_in_admin
    role = api.role()
    user = api.user(role["id"])
    other = api.user(role["id"])
    api.key(other["id"], unique("other's"))

    go(page, "All keys")
    expect_at(page, "admin/keys")
    check_page(page, "admin-keys", dark=True)
    name = unique("service")
    form = post_form(page, "admin/keys")
    set_value(form, "name", name)
    set_value(form, "user", user["id"])
    answer = submit(form, re.compile(r"^Create"))
    assert answer.ok, f"creating a key for a user answered {answer.status}: {where(page)}"
    key = read_new_key(page)
    check_page(page, "admin-key-created")
    me = api.me(key)
    assert me.status == 200 and me.body["email"] == user["email"], (
        f"the key is not the user's: {me.body}"
    )

    # Filter by user: only theirs.
    page.goto(server.url("/console/admin/keys"))
    search = get_form(page)
    set_value(search, "user", user["id"])
    with page.expect_navigation():
        search.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(rf"[?&]user={user['id']}\b"))
    row(page, name)
    expect(main(page).locator("tbody tr"), f"only the user's keys on {where(page)}").to_have_count(
        1
    )

    # Delete it from the admin list.
    identifier = [
        k for k in api.ok("GET", f"/v1/admin/tokens?user={user['id']}")["data"] if k["name"] == name
    ][0]["id"]
    row_link(row(page, name), "Delete").click()
    expect_at(page, rf"admin/keys/{identifier}/delete")
    check_page(page, "admin-key-delete")
    answer = submit(post_form(page, f"admin/keys/{identifier}/delete"), "Delete")
    assert first_status(answer) == 303, (
        f"deleting a user's key answered {first_status(answer)}, not 303"
    )
    expect_flash(page)
    assert api.me(key).status == 401, "the deleted key still works"
