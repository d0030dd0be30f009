"""Users: create (the API's sentences next to the fields, a taken email), search by email, filter
by organization, edit, delete with confirmation."""

import calendar
import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_field_error,
    expect_flash,
    field,
    first_status,
    get_form,
    go,
    main,
    no_browser_validation,
    no_row,
    open_row,
    post_form,
    row,
    row_link,
    set_value,
    submit,
    unique,
    unique_email,
    where,
)


def user_id(page) -> int:
    found = re.search(r"/console/admin/users/(\d+)$", page.url)
    assert found, f"not on a user's page: {page.url}"
    return int(found.group(1))


def test_create_a_user_and_see_the_apis_refusals(signed_in_admin, server, api):
    page = signed_in_admin
    role = api.role(unique("Staff"))
    organization = api.organization()
    go(page, "Users")
    expect_at(page, "admin/users")
    check_page(page, "users", dark=True)
    main(page).get_by_role("link", name="New user", exact=True).click()
    page.wait_for_load_state()
    expect_at(page, r"admin/users/new")
    check_page(page, "user-new", dark=True)

    # Invalid email and short password: each sentence next to its field; the email is kept, the
    # password never.
    form = post_form(page, "admin/users/new")
    no_browser_validation(form)
    set_value(form, "email", "not-an-email")
    set_value(form, "name", "Ada")
    set_value(form, "password", "short")
    set_value(form, "role", role["id"])
    answer = submit(form, re.compile(r"^Create"))
    assert answer.status == 422, f"an invalid user answered {answer.status}, not 422"
    form = post_form(page, "admin/users/new")
    expect_field_error(form, "email", "value is not a valid email address.")
    expect_field_error(form, "password", "String should have at least 8 characters.")
    expect(field(form, "email"), "the email typed is kept").to_have_value("not-an-email")
    expect(field(form, "name"), "the name typed is kept").to_have_value("Ada")
    expect(field(form, "password"), "a password is never sent back").to_have_value("")
    check_page(page, "user-new-invalid")

    # A valid user.
    email = unique_email("ada")
    set_value(form, "email", email)
    set_value(form, "password", "correct horse battery")
    set_value(form, "role", role["id"])
    set_value(form, "organization", organization["id"])
    set_value(form, "budget", "12.5")
    set_value(form, "expires", "2099-12-31")
    set_value(form, "priority", 3)
    answer = submit(form, re.compile(r"^Create"))
    assert first_status(answer) == 303, (
        f"creating a user answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page, "User", "created")
    created = api.ok("GET", f"/v1/admin/users?email={email}")["data"]
    assert len(created) == 1, f"the user {email} was not created"
    created = created[0]
    assert (
        created["name"],
        created["role"],
        created["organization"],
        created["budget"],
        created["priority"],
    ) == ("Ada", role["id"], organization["id"], 12.5, 3), created
    # A date input is UTC midnight.
    assert created["expires"] == calendar.timegm((2099, 12, 31, 0, 0, 0)), (
        f"expires 2099-12-31 stored as {created['expires']}"
    )
    signed = api.login(email, "correct horse battery")
    assert signed.status == 200, (
        f"the new user cannot log in with the password given: {signed.body}"
    )

    # The same email again (in other letters' case): 409.
    page.goto(server.url("/console/admin/users/new"))
    form = post_form(page, "admin/users/new")
    set_value(form, "email", email.upper())
    set_value(form, "password", "another password")
    set_value(form, "role", role["id"])
    answer = submit(form, re.compile(r"^Create"))
    assert answer.status == 409, f"a taken email answered {answer.status}, not 409"
    expect(main(page), f"the refusal on {where(page)}").to_contain_text("User already exists.")
    expect(field(post_form(page, "admin/users/new"), "password")).to_have_value("")
    check_page(page, "user-new-conflict")


def test_search_filter_edit_and_delete_users(signed_in_admin, server, api):
    page = signed_in_admin
    role = api.role()
    apollo, zeus = api.organization(unique("Apollo")), api.organization(unique("Zeus"))
    alice = api.user(role["id"], unique_email("alice"), organization=apollo["id"])
    bob = api.user(role["id"], unique_email("bob"), organization=zeus["id"])

    # Search by email, as typed into the search field and sent with Enter.
    go(page, "Users")
    search = get_form(page)
    field(search, "email").fill(alice["email"])
    with page.expect_navigation():
        field(search, "email").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]email="))
    row(page, alice["email"])
    no_row(page, bob["email"])
    check_page(page, "users-search")

    # Filter by organization.
    page.goto(server.url("/console/admin/users"))
    search = get_form(page)
    set_value(search, "organization", zeus["id"])
    with page.expect_navigation():
        search.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(rf"[?&]organization={zeus['id']}\b"))
    row(page, bob["email"])
    no_row(page, alice["email"])
    expect(field(get_form(page), "organization"), "the filter stays selected").to_have_value(
        str(zeus["id"])
    )

    # Edit: the form shows the user, the password may stay empty (unchanged).
    open_row(page, bob["email"])
    identifier = user_id(page)
    assert identifier == bob["id"]
    check_page(page, "user-edit", dark=True)
    form = post_form(page, f"admin/users/{identifier}")
    expect(field(form, "email")).to_have_value(bob["email"])
    expect(field(form, "password")).to_have_value("")
    set_value(form, "name", "Bob Builder")
    set_value(form, "organization", apollo["id"])
    set_value(form, "priority", 7)
    answer = submit(form, "Save")
    assert first_status(answer) == 303, (
        f"saving a user answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page)
    saved = api.ok("GET", f"/v1/admin/users/{identifier}")
    assert (saved["name"], saved["organization"], saved["priority"]) == (
        "Bob Builder",
        apollo["id"],
        7,
    ), saved
    login = api.login(bob["email"], bob["password"])
    assert login.status == 200, "saving without a password changed the password"

    # An invalid change is refused next to its field, and changes nothing.
    page.goto(server.url(f"/console/admin/users/{identifier}"))
    form = post_form(page, f"admin/users/{identifier}")
    no_browser_validation(form)
    set_value(form, "email", "nobody")
    answer = submit(form, "Save")
    assert answer.status == 422, (
        f"an invalid email on the edit form answered {answer.status}, not 422"
    )
    expect_field_error(
        post_form(page, f"admin/users/{identifier}"), "email", "value is not a valid email address."
    )
    assert api.ok("GET", f"/v1/admin/users/{identifier}")["email"] == bob["email"]

    # Delete: Cancel keeps the user, Delete removes them.
    go(page, "Users")
    row_link(row(page, bob["email"]), "Delete").click()
    expect_at(page, rf"admin/users/{identifier}/delete")
    check_page(page, "user-delete")
    main(page).get_by_role("link", name="Cancel", exact=True).click()
    page.wait_for_load_state()
    assert api("GET", f"/v1/admin/users/{identifier}").status == 200, "Cancel deleted the user"
    page.goto(server.url(f"/console/admin/users/{identifier}/delete"))
    answer = submit(post_form(page, f"admin/users/{identifier}/delete"), "Delete")
    assert first_status(answer) == 303, f"deleting a user answered {first_status(answer)}, not 303"
    expect_flash(page)
    no_row(page, bob["email"])
    assert api("GET", f"/v1/admin/users/{identifier}").status == 404, (
        "Delete left the user in place"
    )


def test_a_user_named_by_an_unknown_id_is_404(signed_in_admin, server):
    page = signed_in_admin
    answer = page.goto(server.url("/console/admin/users/999999999"))
    assert answer.status == 404, f"an unknown user's page answered {answer.status}, not 404"
    expect(main(page)).to_contain_text("User not found.")
