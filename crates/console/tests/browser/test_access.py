"""Who sees what: the navigation of a user and of an admin, and the 403 page of an admin page for a
user who is not one."""

import re

from playwright.sync_api import expect

from support import NAV_ADMIN, NAV_EVERYONE, check_page, main, nav, sign_in, where


def nav_links(page) -> list[str]:
    return [" ".join(text.split()) for text in nav(page).get_by_role("link").all_inner_texts()]


def test_a_user_sees_their_pages_only(page, server, api):
    role = api.role(permissions=["read_metric"])
    user = api.user(role["id"])
    sign_in(page, server.base, user["email"], user["password"])
    links = nav_links(page)
    for name in NAV_EVERYONE:
        assert name in links, f"the navigation of a user lacks {name!r}: {links}"
    for name in NAV_ADMIN:
        assert name not in links, f"the navigation of a user (not an admin) shows {name!r}: {links}"
    assert [name for name in links if name in NAV_EVERYONE] == NAV_EVERYONE, f"the order of {links}"
    header = page.locator("header")
    expect(header, "the header shows who is signed in").to_contain_text(user["email"])
    expect(header.get_by_role("button", name="Sign out", exact=True)).to_have_count(1)

    for path in ["admin/users", "admin/organizations", "admin/audit", "admin/users/new"]:
        answer = page.goto(server.url(f"/console/{path}"))
        assert answer.status == 403, (
            f"/console/{path} answered {answer.status} to a user who is not an admin"
        )
        expect(main(page), f"the 403 page at {page.url}").to_contain_text("Insufficient rights.")
    check_page(page, "forbidden", dark=True)

    # A POST to an admin page is refused just as well, and changes nothing.
    before = api.ok("GET", "/v1/admin/organizations?limit=1")["total"]
    page.goto(server.url("/console/account"))
    csrf = page.locator('input[name="csrf"]').first.input_value()
    answer = page.request.post(
        server.url("/console/admin/organizations"),
        form={"csrf": csrf, "name": "Not allowed"},
        max_redirects=0,
    )
    assert answer.status == 403, (
        f"a user's POST to admin/organizations answered {answer.status}, not 403"
    )
    assert api.ok("GET", "/v1/admin/organizations?limit=1")["total"] == before


def test_an_admin_sees_every_page(signed_in_admin, server):
    page = signed_in_admin
    links = nav_links(page)
    ours = [name for name in links if name in NAV_EVERYONE + NAV_ADMIN]
    assert ours == NAV_EVERYONE + NAV_ADMIN, f"the navigation of an admin: {links}"
    for name in NAV_EVERYONE + NAV_ADMIN:
        nav(page).get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state()
        expect(
            page.get_by_role("heading", level=1), f"the page {name!r} at {page.url}"
        ).to_be_visible()
        current = nav(page).get_by_role("link", name=name, exact=True)
        expect(
            current, f"the link of the current page {name!r} says so ({where(page)})"
        ).to_have_attribute("aria-current", re.compile(r"^(page|true)$"))
