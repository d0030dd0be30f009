"""The account page: who I am, renaming myself, changing my password (the current one is
checked)."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_field_error,
    expect_flash,
    field,
    first_status,
    main,
    no_browser_validation,
    post_form,
    set_value,
    sign_in,
    sign_out,
    submit,
    unique,
    where,
)


def password_changes(api, user: int) -> int:
    """How many times the user's password was changed, as the audit log tells."""
    events = api.ok(
        "GET", f"/v1/admin/audit?action=password_change&entity_type=user&entity_id={user}"
    )
    return events["total"]


def test_the_account_page_shows_who_i_am(page, server, api):
    organization = api.organization()
    role = api.role(
        unique("Readers"),
        permissions=["read_metric"],
        limits=[{"router_id": 5, "type": "rpd", "value": 500}],
    )
    user = api.user(role["id"], name="Grace Hopper", organization=organization["id"], budget=42.5)
    sign_in(page, server.base, user["email"], user["password"])
    content = main(page)
    for shown in [
        user["email"],
        "Grace Hopper",
        # As GET /v1/me/info shows it: the organization by its id (a non-admin cannot read
        # organizations or roles by name).
        str(organization["id"]),
        "42.5",
        "read_metric",
        "500",
    ]:
        expect(content, f"the account page shows {shown!r}").to_contain_text(shown)
    check_page(page, "account", dark=True)


def test_rename_myself(page, server, api):
    role = api.role()
    user = api.user(role["id"], name="Old Name")
    sign_in(page, server.base, user["email"], user["password"])
    profile = post_form(page, "account")
    expect(field(profile, "name")).to_have_value("Old Name")
    expect(field(profile, "email")).to_have_value(user["email"])
    set_value(profile, "name", "New Name")
    answer = submit(profile)
    assert first_status(answer) == 303, (
        f"renaming answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_at(page, "account")
    expect_flash(page)
    expect(field(post_form(page, "account"), "name")).to_have_value("New Name")
    assert api.ok("GET", f"/v1/admin/users/{user['id']}")["name"] == "New Name"
    check_page(page, "account-renamed")


def test_change_my_password(page, server, api):
    role = api.role()
    user = api.user(role["id"])
    sign_in(page, server.base, user["email"], user["password"])

    # A wrong current password: 401, next to that field, nothing changed.
    form = post_form(page, "account/password")
    set_value(form, "current_password", "not my password")
    set_value(form, "password", "a brand new password")
    answer = submit(form)
    assert answer.status == 401, f"a wrong current password answered {answer.status}, not 401"
    form = post_form(page, "account/password")
    expect_field_error(form, "current_password", "Invalid current password.")
    expect(field(form, "current_password"), "passwords are never sent back").to_have_value("")
    expect(field(form, "password"), "passwords are never sent back").to_have_value("")
    check_page(page, "account-password-refused")
    # (A login through the API would end this browser's session: the audit log tells instead.)
    assert password_changes(api, user["id"]) == 0, "a refused change changed the password"

    # Too short: the API's sentence next to the new password.
    no_browser_validation(form)
    set_value(form, "current_password", user["password"])
    set_value(form, "password", "short")
    answer = submit(form)
    assert answer.status == 422, f"a short new password answered {answer.status}, not 422"
    expect_field_error(
        post_form(page, "account/password"), "password", "String should have at least 8 characters."
    )

    # The right one: changed; this session goes on, the new password signs in.
    form = post_form(page, "account/password")
    set_value(form, "current_password", user["password"])
    set_value(form, "password", "a brand new password")
    answer = submit(form)
    assert first_status(answer) == 303, (
        f"a password change answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page)
    assert password_changes(api, user["id"]) == 1, "the password change is not in the audit log"
    assert api.login(user["email"], user["password"]).status == 401, "the old password still works"
    page.goto(server.url("/console/account"))
    expect(page, "the session that changed the password goes on").to_have_url(
        re.compile(r"/console/account$")
    )
    sign_out(page)
    sign_in(page, server.base, user["email"], "a brand new password")
