"""Usage: one's own (a chart per day and the records) and, for admins, everyone's with a summary.
The records are made as a gateway makes them: `POST /v1/auth/authorize`, then `/v1/auth/usage`,
with the master key as the gateway's credential."""

import re

from playwright.sync_api import expect

from support import (
    expect_at,
    check_page,
    expect_cell,
    get_form,
    go,
    main,
    set_value,
    sign_in,
    where,
)


def with_cell(page, rows, figure: str):
    """The rows with a cell showing exactly `figure`."""
    return rows.filter(has=page.locator("td, th", has_text=re.compile(rf"^\s*{figure}\s*$")))


def prepare(api):
    role = api.role()
    organization = api.organization()
    user = api.user(role["id"], organization=organization["id"])
    key = api.key(user["id"])["token"]
    # Figures under 1,000, so that no thousands separator is in the way.
    api.usage(key, router=7, prompt_tokens=321, completion_tokens=54, cost=0.25)
    api.usage(key, router=8, prompt_tokens=111, completion_tokens=22, cost=0.5)
    return user, organization


def test_my_usage_shows_a_chart_and_the_records(page, server, api):
    user, _ = prepare(api)
    sign_in(page, server.base, user["email"], user["password"])
    go(page, "Usage")
    expect_at(page, "usage")
    chart = main(page).locator("svg")
    expect(chart, f"a chart (inline SVG) on {where(page)}").not_to_have_count(0)
    expect(chart.first.locator("rect, path"), "the chart has bars").not_to_have_count(0)
    # The records (other tables, such as the figures per day, show sums, not these).
    records = main(page).locator("tbody tr")
    first, second = with_cell(page, records, "321"), with_cell(page, records, "111")
    expect(first, f"the record of the first call on {where(page)}").to_have_count(1)
    expect(second, f"the record of the second call on {where(page)}").to_have_count(1)
    # Completion tokens and the cost of each call.
    for figure in ["54", r"0\.250*"]:
        expect_cell(first, figure, f"the first call's record on {where(page)}")
    for figure in ["22", r"0\.50*"]:
        expect_cell(second, figure, f"the second call's record on {where(page)}")
    check_page(page, "usage", dark=True)

    # Dates filter the records: none on 2000-01-01.
    search = get_form(page)
    set_value(search, "from", "2000-01-01")
    set_value(search, "to", "2000-01-02")
    with page.expect_navigation():
        search.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"[?&]from=2000-01-01"))
    expect(
        with_cell(page, main(page).locator("tbody tr"), "321"), "filtered out by the dates"
    ).to_have_count(0)


def test_the_admin_usage_summary(signed_in_admin, server, api):
    page = signed_in_admin
    user, organization = prepare(api)
    go(page, "All usage")
    expect(page).to_have_url(re.compile(r"/console/admin/usage"))
    check_page(page, "admin-usage", dark=True)

    search = get_form(page)
    set_value(search, "group_by", "user")
    set_value(search, "user", user["id"])
    with page.expect_navigation():
        search.get_by_role("button").first.click()
    expect(page).to_have_url(re.compile(r"[?&]group_by=user"))
    summary = main(page).get_by_role("table", name=re.compile(r"summary", re.IGNORECASE))
    expect(summary, f"a summary table (its caption says so) on {where(page)}").to_have_count(1)
    line = summary.locator("tbody tr")
    expect(line, "one summary line for the one user").to_have_count(1)
    # 2 requests, 321 + 111 prompt tokens, 54 + 22 completion tokens, 0.25 + 0.5 cost.
    for figure in ["2", "432", "76", r"0\.750*"]:
        expect_cell(line, figure, f"the summary line on {where(page)}")
    # The records below the summary (the summary's line shows the sums, not 321).
    expect(
        with_cell(page, main(page).locator("tbody tr"), "321"), "the records below the summary"
    ).to_have_count(1)
    check_page(page, "admin-usage-by-user")

    set_value(get_form(page), "group_by", "organization")
    set_value(get_form(page), "user", "")
    set_value(get_form(page), "organization", organization["id"])
    with page.expect_navigation():
        get_form(page).get_by_role("button").first.click()
    line = (
        main(page)
        .get_by_role("table", name=re.compile(r"summary", re.IGNORECASE))
        .locator("tbody tr")
    )
    expect(line).to_have_count(1)
    expect_cell(line, "432", f"the summary by organization on {where(page)}")
