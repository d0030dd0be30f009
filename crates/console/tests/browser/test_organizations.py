"""Organizations: create, the API's refusals next to the field, edit, delete with confirmation;
and the list's pages and sorting, as every list has them."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_field_error,
    expect_flash,
    field,
    first_status,
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
    where,
)


def organization_id(page) -> int:
    found = re.search(r"/console/admin/organizations/(\d+)$", page.url)
    assert found, f"not on an organization's page: {page.url}"
    return int(found.group(1))


def names_listed(page, prefix: str) -> list[str]:
    """The names starting with `prefix` that the list shows, in its order."""
    listed = " ".join(main(page).locator("tbody").all_inner_texts())
    return re.findall(rf"{re.escape(prefix)} [A-Z]\b", listed)


def test_create_edit_and_delete_an_organization(signed_in_admin, server, api):
    page = signed_in_admin
    go(page, "Organizations")
    expect_at(page, "admin/organizations")
    check_page(page, "organizations", dark=True)

    name = unique("Acme")
    form = post_form(page, "admin/organizations")
    set_value(form, "name", name)
    answer = submit(form, "Create organization")
    assert first_status(answer) == 303, (
        f"creating an organization answered {first_status(answer)}, not 303"
    )
    expect_at(page, "admin/organizations")
    expect_flash(page, "Organization", "created")
    row(page, name)
    check_page(page, "organizations-created")
    page.reload()
    expect(page.locator('.alert.ok[role="status"]'), "a flash message is shown once").to_have_count(
        0
    )

    # The same name again: the API's 409 sentence, next to the field, the value kept.
    form = post_form(page, "admin/organizations")
    set_value(form, "name", name)
    answer = submit(form, "Create organization")
    assert answer.status == 409, f"a taken organization name answered {answer.status}, not 409"
    form = post_form(page, "admin/organizations")
    expect_field_error(form, "name", "Organization already exists.")
    expect(field(form, "name"), "the name typed is kept").to_have_value(name)
    check_page(page, "organizations-conflict")

    # A blank name: 422, next to the field.
    no_browser_validation(form)
    set_value(form, "name", "   ")
    answer = submit(form, "Create organization")
    assert answer.status == 422, f"a blank organization name answered {answer.status}, not 422"
    form = post_form(page, "admin/organizations")
    expect_field_error(form, "name", "String should have at least 1 character after trimming.")
    check_page(page, "organizations-invalid")

    # Edit.
    go(page, "Organizations")
    open_row(page, name)
    identifier = organization_id(page)
    check_page(page, "organization-edit", dark=True)
    form = post_form(page, f"admin/organizations/{identifier}")
    expect(field(form, "name"), "the edit form shows the name").to_have_value(name)
    renamed = unique("Acme renamed")
    set_value(form, "name", renamed)
    answer = submit(form, "Save")
    assert first_status(answer) == 303, (
        f"saving an organization answered {first_status(answer)}, not 303"
    )
    expect_flash(page)
    assert api.ok("GET", f"/v1/admin/organizations/{identifier}")["name"] == renamed

    # Delete: Cancel keeps it, Delete removes it.
    go(page, "Organizations")
    row_link(row(page, renamed), "Delete").click()
    expect_at(page, rf"admin/organizations/{identifier}/delete")
    check_page(page, "organization-delete", dark=True)
    expect(main(page), "the confirmation names what it deletes").to_contain_text(renamed)
    main(page).get_by_role("link", name="Cancel", exact=True).click()
    page.wait_for_load_state()
    assert api("GET", f"/v1/admin/organizations/{identifier}").status == 200, "Cancel deleted it"

    page.goto(server.url(f"/console/admin/organizations/{identifier}/delete"))
    answer = submit(post_form(page, f"admin/organizations/{identifier}/delete"), "Delete")
    assert first_status(answer) == 303, (
        f"deleting an organization answered {first_status(answer)}, not 303"
    )
    expect_at(page, "admin/organizations")
    expect_flash(page)
    no_row(page, renamed)
    assert api("GET", f"/v1/admin/organizations/{identifier}").status == 404, (
        "Delete left it in place"
    )


def test_an_unknown_organization_is_404_with_the_apis_sentence(signed_in_admin, server):
    page = signed_in_admin
    answer = page.goto(server.url("/console/admin/organizations/999999999"))
    assert answer.status == 404, f"an unknown organization's page answered {answer.status}, not 404"
    expect(main(page), f"the 404 page at {page.url}").to_contain_text("Organization not found.")
    check_page(page, "organization-not-found")


def test_a_delete_the_api_refuses_shows_its_sentence(signed_in_admin, server, api):
    page = signed_in_admin
    organization = api.organization()
    role = api.role()
    api.user(role["id"], organization=organization["id"])
    page.goto(server.url(f"/console/admin/organizations/{organization['id']}/delete"))
    answer = submit(post_form(page, f"admin/organizations/{organization['id']}/delete"), "Delete")
    assert answer.status == 409, (
        f"deleting an organization with users answered {answer.status}, not 409"
    )
    alert = page.locator('.alert.error[role="alert"]')
    expect(alert, f"the refusal on {where(page)}").to_contain_text(
        "Delete organization with users is not allowed."
    )
    assert api("GET", f"/v1/admin/organizations/{organization['id']}").status == 200
    check_page(page, "organization-delete-refused")


def test_the_list_pages_and_sorts(signed_in_admin, server, api):
    page = signed_in_admin
    prefix = unique("Paged")
    total = api.ok("GET", "/v1/admin/organizations?limit=1")["total"]
    # Names in the reverse order of their ids, so that sorting by name shows.
    names = [f"{prefix} {letter}" for letter in "LKJIHGFEDCBA"]
    for name in names:
        api.organization(name)
    total += len(names)

    page.goto(server.url("/console/admin/organizations"))
    pager = main(page).get_by_role("navigation", name="Pagination")
    expect(pager, f"the pager of {where(page)}").to_contain_text(f"1–10 of {total}")
    expect(main(page).locator("tbody tr"), "10 rows a page").to_have_count(10)
    pager.get_by_role("link", name="Next", exact=True).click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"offset=10"))
    expect(pager).to_contain_text(f"11–{min(20, total)} of {total}")
    check_page(page, "organizations-page-2")
    pager.get_by_role("link", name="Previous", exact=True).click()
    page.wait_for_load_state()
    expect(pager).to_contain_text(f"1–10 of {total}")

    header = main(page).get_by_role("columnheader", name=re.compile(r"^Name"))
    header.get_by_role("link").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"order_by=name"))
    expect(page).to_have_url(re.compile(r"order_direction=asc"))
    header = main(page).get_by_role("columnheader", name=re.compile(r"^Name"))
    expect(header, "the sorted column says so").to_have_attribute("aria-sort", "ascending")
    ours = names_listed(page, prefix)
    assert ours and ours == sorted(ours), f"sorted by name, {where(page)} lists {ours}"

    header.get_by_role("link").click()
    page.wait_for_load_state()
    expect(page, "a second click on the sorted column reverses it").to_have_url(
        re.compile(r"order_direction=desc")
    )
    header = main(page).get_by_role("columnheader", name=re.compile(r"^Name"))
    expect(header).to_have_attribute("aria-sort", "descending")
    ours = names_listed(page, prefix)
    assert ours and ours == sorted(ours, reverse=True), f"sorted by name, descending: {ours}"
    check_page(page, "organizations-sorted")
