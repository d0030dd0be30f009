"""The audit log: the events, newest first, filtered, and exported as CSV with the same filters."""

import csv
import io
import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_cell,
    get_form,
    go,
    main,
    post_form,
    set_value,
    submit,
    unique,
    where,
)


def test_the_audit_log_lists_filters_and_exports(signed_in_admin, server, api):
    page = signed_in_admin
    api.role()
    api.organization()
    # A change made through the console is recorded as any other.
    go(page, "Organizations")
    name = unique("Audited")
    form = post_form(page, "admin/organizations")
    set_value(form, "name", name)
    submit(form, "Create organization")

    go(page, "Audit log")
    expect_at(page, "admin/audit")
    check_page(page, "audit", dark=True)
    rows = main(page).locator("tbody tr")
    expect(rows, f"the events on {where(page)}").not_to_have_count(0)
    # Newest first: the organization just created through the console.
    expect(rows.first, "the newest event comes first").to_contain_text(name)

    # Filter: organizations created.
    search = get_form(page)
    set_value(search, "action", "create")
    set_value(search, "entity_type", "organization")
    with page.expect_navigation():
        search.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"[?&]action=create"))
    expect(page).to_have_url(re.compile(r"[?&]entity_type=organization"))
    expected = api.ok("GET", "/v1/admin/audit?action=create&entity_type=organization&limit=100")[
        "total"
    ]
    assert 2 <= expected <= 10
    rows = main(page).locator("tbody tr")
    expect(rows, f"{expected} organizations created, on {where(page)}").to_have_count(expected)
    for index in range(expected):
        expect_cell(rows.nth(index), "[Cc]reate", f"event {index + 1} of the filtered list")
    check_page(page, "audit-filtered")

    # The CSV export of the same filters.
    export = main(page).get_by_role("link", name="Export CSV", exact=True)
    expect(export, f"a link 'Export CSV' on {where(page)}").to_have_count(1)
    href = export.evaluate("a => a.href")
    assert href.startswith(server.url("/console/admin/audit.csv?")), f"'Export CSV' links to {href}"
    assert "action=create" in href and "entity_type=organization" in href, (
        f"'Export CSV' does not keep the filters: {href}"
    )
    answer = page.request.get(href)
    assert answer.status == 200, f"GET {href} answered {answer.status}"
    assert answer.headers.get("content-type", "").startswith("text/csv"), answer.headers
    assert answer.headers.get("content-disposition", "").startswith("attachment"), answer.headers
    table = list(csv.reader(io.StringIO(answer.text())))
    assert table and "action" in table[0] and "id" in table[0], f"the CSV's header row: {table[:1]}"
    assert len(table) == 1 + expected, f"the CSV has {len(table) - 1} events, not {expected}"
    action = table[0].index("action")
    assert {line[action] for line in table[1:]} == {"create"}, table

    with page.expect_download() as download:
        export.click()
    downloaded = download.value
    assert downloaded.suggested_filename.endswith(".csv"), downloaded.suggested_filename
    with open(downloaded.path(), encoding="utf-8") as file:
        assert next(csv.reader(file)) == table[0], "the download is not the same CSV"
