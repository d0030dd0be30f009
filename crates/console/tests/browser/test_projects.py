"""Projects: create with a budget and limits, add a member (and the API's refusal of a user of
another organization), remove one with confirmation, edit, delete."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_flash,
    field,
    first_status,
    go,
    main,
    open_row,
    post_form,
    row,
    row_link,
    set_value,
    submit,
    unique,
    where,
)

CONFIRM = re.compile(r"^(Delete|Remove)$")


def project_id(page) -> int:
    found = re.search(r"/console/admin/projects/(\d+)$", page.url)
    assert found, f"not on a project's page: {page.url}"
    return int(found.group(1))


def members_table(page):
    """The table of the project page whose caption speaks of members."""
    table = main(page).get_by_role("table", name=re.compile(r"member", re.IGNORECASE))
    expect(table, f"a table of members (its caption says so) on {where(page)}").to_have_count(1)
    return table


def member_ids(api, project: int) -> list[int]:
    return [
        m["user"] for m in api.ok("GET", f"/v1/admin/projects/{project}/members?limit=100")["data"]
    ]


def test_create_a_project_and_manage_its_members(signed_in_admin, server, api):
    page = signed_in_admin
    role = api.role()
    apollo, zeus = api.organization(unique("Apollo")), api.organization(unique("Zeus"))
    insider = api.user(role["id"], organization=apollo["id"])
    outsider = api.user(role["id"], organization=zeus["id"])

    go(page, "Projects")
    expect_at(page, "admin/projects")
    check_page(page, "projects", dark=True)
    main(page).get_by_role("link", name="New project", exact=True).click()
    page.wait_for_load_state()
    expect_at(page, r"admin/projects/new")
    check_page(page, "project-new", dark=True)

    name = unique("Moonshot")
    form = post_form(page, "admin/projects/new")
    set_value(form, "name", name)
    set_value(form, "organization", apollo["id"])
    set_value(form, "budget", "250.75")
    set_value(form, "limits.0.router_id", 3)
    set_value(form, "limits.0.type", "rpm")
    set_value(form, "limits.0.value", 10)
    answer = submit(form, re.compile(r"^Create"))
    assert first_status(answer) == 303, (
        f"creating a project answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page, "Project", "created")
    created = [
        p
        for p in api.ok("GET", f"/v1/admin/projects?organization={apollo['id']}")["data"]
        if p["name"] == name
    ]
    assert len(created) == 1, f"the project {name!r} was not created in {apollo['name']}"
    created = created[0]
    assert created["budget"] == 250.75, created
    assert [(limit["router_id"], limit["type"], limit["value"]) for limit in created["limits"]] == [
        (3, "rpm", 10)
    ], created

    go(page, "Projects")
    open_row(page, name)
    identifier = project_id(page)
    assert identifier == created["id"]
    check_page(page, "project", dark=True)
    edit = post_form(page, f"admin/projects/{identifier}")
    expect(field(edit, "name")).to_have_value(name)
    assert (
        edit.locator('[name="organization"]:not([type="hidden"])').count() == 0
        or field(edit, "organization").is_disabled()
    ), "a project's organization can be chosen on create only"

    # Add a member of the project's organization.
    add = post_form(page, f"admin/projects/{identifier}/members")
    set_value(add, "user", insider["id"])
    answer = submit(add, re.compile(r"^Add"))
    assert first_status(answer) == 303, (
        f"adding a member answered {first_status(answer)}, not 303: {where(page)}"
    )
    expect_flash(page)
    assert member_ids(api, identifier) == [insider["id"]]
    expect(members_table(page).locator("tbody tr"), "the new member is listed").to_have_count(1)

    # A user of another organization: the API's 409 sentence.
    page.goto(server.url(f"/console/admin/projects/{identifier}"))
    add = post_form(page, f"admin/projects/{identifier}/members")
    set_value(add, "user", outsider["id"])
    answer = submit(add, re.compile(r"^Add"))
    assert answer.status == 409, (
        f"adding a user of another organization answered {answer.status}, not 409"
    )
    expect(main(page), f"the refusal on {where(page)}").to_contain_text(
        "User is not in the project's organization."
    )
    assert member_ids(api, identifier) == [insider["id"]]
    check_page(page, "project-member-refused")

    # Remove the member: Cancel keeps them, the confirmation removes them.
    page.goto(server.url(f"/console/admin/projects/{identifier}"))
    members = members_table(page)
    remove = members.get_by_role("link", name=re.compile(r"^Remove")).or_(
        members.get_by_role("button", name=re.compile(r"^Remove"))
    )
    expect(remove, "a Remove link (or button) on the member's row").to_have_count(1)
    remove.click()
    page.wait_for_load_state()
    expect(page).to_have_url(
        re.compile(rf"/console/admin/projects/{identifier}/members/{insider['id']}/delete$")
    )
    check_page(page, "project-member-remove")
    main(page).get_by_role("link", name="Cancel", exact=True).click()
    page.wait_for_load_state()
    assert member_ids(api, identifier) == [insider["id"]], "Cancel removed the member"
    page.goto(server.url(f"/console/admin/projects/{identifier}/members/{insider['id']}/delete"))
    confirm = post_form(page, f"admin/projects/{identifier}/members/{insider['id']}/delete")
    answer = submit(confirm, CONFIRM)
    assert first_status(answer) == 303, (
        f"removing a member answered {first_status(answer)}, not 303"
    )
    expect_flash(page)
    assert member_ids(api, identifier) == [], "the member was not removed"

    # Edit the budget and clear it: no limit.
    page.goto(server.url(f"/console/admin/projects/{identifier}"))
    edit = post_form(page, f"admin/projects/{identifier}")
    set_value(edit, "budget", "")
    answer = submit(edit, "Save")
    assert first_status(answer) == 303, (
        f"saving a project answered {first_status(answer)}, not 303: {where(page)}"
    )
    assert api.ok("GET", f"/v1/admin/projects/{identifier}")["budget"] is None, (
        "an empty budget is no limit"
    )

    # Delete it.
    go(page, "Projects")
    row_link(row(page, name), "Delete").click()
    expect_at(page, rf"admin/projects/{identifier}/delete")
    check_page(page, "project-delete")
    answer = submit(post_form(page, f"admin/projects/{identifier}/delete"), "Delete")
    assert first_status(answer) == 303, (
        f"deleting a project answered {first_status(answer)}, not 303"
    )
    assert api("GET", f"/v1/admin/projects/{identifier}").status == 404, (
        "Delete left the project in place"
    )
