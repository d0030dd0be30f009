"""Roles: permissions as checkboxes, the limits editor (existing rows plus three empty ones; a row
without a router is ignored; an empty value is no limit), edit, delete with confirmation, and the
API's refusal to delete a role that has users."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    checkbox,
    expect_alert,
    expect_field_error,
    expect_flash,
    field,
    first_status,
    go,
    main,
    no_browser_validation,
    open_row,
    post_form,
    row,
    row_link,
    set_value,
    submit,
    unique,
    where,
)


def limit_rows(form) -> int:
    """How many rows the limits editor shows."""
    return form.locator('[name$=".router_id"]').count()


def role_id(page) -> int:
    found = re.search(r"/console/admin/roles/(\d+)$", page.url)
    assert found, f"not on a role's page: {page.url}"
    return int(found.group(1))


def test_create_edit_and_delete_a_role(signed_in_admin, server, api):
    page = signed_in_admin
    go(page, "Roles")
    expect_at(page, "admin/roles")
    check_page(page, "roles", dark=True)

    main(page).get_by_role("link", name="New role", exact=True).click()
    page.wait_for_load_state()
    expect_at(page, r"admin/roles/new")
    check_page(page, "role-new", dark=True)
    form = post_form(page, "admin/roles/new")
    assert limit_rows(form) == 3, (
        f"a new role's limits editor shows {limit_rows(form)} rows, not 3 empty ones"
    )
    for permission in [
        "admin",
        "create_public_collection",
        "read_metric",
        "provide_models",
        "gateway",
    ]:
        expect(checkbox(form, "permissions", permission)).not_to_be_checked()

    name = unique("Analysts")
    set_value(form, "name", name)
    checkbox(form, "permissions", "read_metric").check()
    checkbox(form, "permissions", "provide_models").check()
    set_value(form, "limits.0.router_id", 1)
    set_value(form, "limits.0.type", "rpm")
    set_value(form, "limits.0.value", 60)
    set_value(form, "limits.1.router_id", 2)
    set_value(form, "limits.1.type", "tpd")
    set_value(form, "limits.1.value", "")
    # A row without a router is ignored, whatever else it holds.
    set_value(form, "limits.2.type", "rpd")
    set_value(form, "limits.2.value", 5)
    answer = submit(form, "Create role")
    assert first_status(answer) == 303, (
        f"creating a role answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page, "Role", "created")

    created = [r for r in api.ok("GET", "/v1/admin/roles?limit=100")["data"] if r["name"] == name]
    assert len(created) == 1, f"the role {name!r} was not created"
    created = created[0]
    assert sorted(created["permissions"]) == ["provide_models", "read_metric"], created
    limits = sorted(
        (limit["router_id"], limit["type"], limit["value"]) for limit in created["limits"]
    )
    assert limits == [(1, "rpm", 60), (2, "tpd", None)], f"the role's limits: {limits}"

    # The edit page: the existing rows, then three empty ones.
    go(page, "Roles")
    open_row(page, name)
    identifier = role_id(page)
    assert identifier == created["id"]
    check_page(page, "role-edit", dark=True)
    form = post_form(page, f"admin/roles/{identifier}")
    assert limit_rows(form) == 5, (
        f"a role with 2 limits shows {limit_rows(form)} rows, not 2 + 3 empty"
    )
    expect(field(form, "name")).to_have_value(name)
    expect(checkbox(form, "permissions", "read_metric")).to_be_checked()
    expect(checkbox(form, "permissions", "admin")).not_to_be_checked()
    shown = {
        (
            form.locator(f'[name="limits.{n}.router_id"]').input_value(),
            form.locator(f'[name="limits.{n}.type"]').input_value(),
            form.locator(f'[name="limits.{n}.value"]').input_value(),
        )
        for n in range(2)
    }
    assert shown == {("1", "rpm", "60"), ("2", "tpd", "")}, f"the limits editor shows {shown}"
    first_router = form.locator('[name="limits.0.router_id"]').input_value()

    # Change the rpm limit, drop the other row (its router emptied), add a tpm limit.
    rpm_row, other_row = (0, 1) if first_router == "1" else (1, 0)
    checkbox(form, "permissions", "provide_models").uncheck()
    set_value(form, f"limits.{rpm_row}.value", 30)
    set_value(form, f"limits.{other_row}.router_id", "")
    set_value(form, "limits.2.router_id", 4)
    set_value(form, "limits.2.type", "tpm")
    set_value(form, "limits.2.value", 1000)
    answer = submit(form, "Save")
    assert first_status(answer) == 303, (
        f"saving a role answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page)
    saved = api.ok("GET", f"/v1/admin/roles/{identifier}")
    assert saved["permissions"] == ["read_metric"], saved
    limits = sorted(
        (limit["router_id"], limit["type"], limit["value"]) for limit in saved["limits"]
    )
    assert limits == [(1, "rpm", 30), (4, "tpm", 1000)], f"the role's limits after saving: {limits}"

    # The same name as another role: the API's 409 sentence next to the name.
    other = api.role()
    page.goto(server.url(f"/console/admin/roles/{identifier}"))
    form = post_form(page, f"admin/roles/{identifier}")
    set_value(form, "name", other["name"])
    answer = submit(form, "Save")
    assert answer.status == 409, f"a taken role name answered {answer.status}, not 409"
    expect(main(page), f"the refusal on {where(page)}").to_contain_text("Role already exists.")

    # Delete: Cancel keeps it, Delete removes it.
    go(page, "Roles")
    row_link(row(page, name), "Delete").click()
    expect_at(page, rf"admin/roles/{identifier}/delete")
    check_page(page, "role-delete")
    main(page).get_by_role("link", name="Cancel", exact=True).click()
    page.wait_for_load_state()
    assert api("GET", f"/v1/admin/roles/{identifier}").status == 200, "Cancel deleted the role"
    page.goto(server.url(f"/console/admin/roles/{identifier}/delete"))
    answer = submit(post_form(page, f"admin/roles/{identifier}/delete"), "Delete")
    assert first_status(answer) == 303, f"deleting a role answered {first_status(answer)}, not 303"
    expect_flash(page)
    assert api("GET", f"/v1/admin/roles/{identifier}").status == 404, (
        "Delete left the role in place"
    )


def test_a_limit_value_the_api_refuses_is_shown_next_to_it(signed_in_admin, server):
    page = signed_in_admin
    page.goto(server.url("/console/admin/roles/new"))
    form = post_form(page, "admin/roles/new")
    set_value(form, "name", unique("Limited"))
    set_value(form, "limits.0.router_id", 1)
    set_value(form, "limits.0.type", "rpm")
    set_value(form, "limits.0.value", "-1")
    no_browser_validation(form)
    answer = submit(form, "Create role")
    assert answer.status == 422, f"a negative limit answered {answer.status}, not 422"
    form = post_form(page, "admin/roles/new")
    expect_field_error(form, "limits.0.value", "Input should be greater than or equal to 0.")
    expect(field(form, "limits.0.router_id"), "the values typed are kept").to_have_value("1")
    check_page(page, "role-invalid")


def test_a_role_with_users_cannot_be_deleted(signed_in_admin, server, api):
    page = signed_in_admin
    role = api.role()
    api.user(role["id"])
    page.goto(server.url(f"/console/admin/roles/{role['id']}/delete"))
    answer = submit(post_form(page, f"admin/roles/{role['id']}/delete"), "Delete")
    assert answer.status == 409, f"deleting a role with users answered {answer.status}, not 409"
    expect_alert(page, "Delete role with users is not allowed.")
    assert api("GET", f"/v1/admin/roles/{role['id']}").status == 200, "the role was deleted anyway"
    check_page(page, "role-delete-refused")
