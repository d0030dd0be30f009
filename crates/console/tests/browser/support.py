"""Helpers of the console's browser tests: finding fields as a person does (by their label),
submitting forms, reading errors and flashes, and the checks every page gets (structure, axe-core,
weight, screenshots).

Field names, ids, button texts, roles and headers come from the console's page contract (which
docs/console.md tells), so that a failure names what the contract expected, and on which page.
"""

import json
import os
import re
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, Response, expect

ROOT = Path(__file__).resolve().parents[4]
AXE_JS = Path(
    os.environ.get("CONSOLE_AXE_JS", ROOT / ".data/console-axe/node_modules/axe-core/axe.min.js")
)
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / ".data/console-screenshots"))

# The most a page may weigh: its HTML, CSS and JavaScript as transferred, on a cold cache.
PAGE_BUDGET = 200 * 1024
# Resource types counted in a page's weight.
WEIGHED = {"document", "stylesheet", "script"}
# The impacts of axe-core that fail a page; "minor" and "moderate" ones are reported by axe but
# left to review.
AXE_FAILING = {"serious", "critical"}
# The directives of the console's Content-Security-Policy, in the contract's words.
CSP_DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
]
# The main navigation, in its order.
NAV_EVERYONE = ["Account", "Keys", "Usage"]
NAV_ADMIN = ["Organizations", "Users", "Roles", "All keys", "Projects", "All usage", "Audit log"]
CSRF_EXPIRED = "The form has expired. Reload the page and try again."


def unique(prefix: str) -> str:
    """A name no other test uses, so that tests sharing a server never see each other's rows."""
    return f"{prefix} {secrets.token_hex(3)}"


def unique_email(prefix: str = "user") -> str:
    """An email address no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}@example.com"


# ---------------------------------------------------------------------------------------------
# The JSON API, to prepare data and to check what the console changed.


@dataclass
class Answer:
    """An answer of the JSON API."""

    status: int
    body: object
    headers: dict


def call(base: str, method: str, path: str, json_body=None, key: str | None = None) -> Answer:
    """Calls the JSON API at `base` with `key` as Bearer (none: anonymous)."""
    headers = {"Accept": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text, answer_headers = answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        status, text, answer_headers = error.code, error.read(), dict(error.headers)
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text.decode(errors="replace")
    return Answer(status, body, answer_headers)


class Api:
    """The JSON API of one server, called with its master key unless told otherwise."""

    def __init__(self, base: str, master_key: str):
        self.base = base
        self.master_key = master_key

    def __call__(self, method: str, path: str, json_body=None, key: str | None = None) -> Answer:
        return call(self.base, method, path, json_body, self.master_key if key is None else key)

    def ok(self, method: str, path: str, json_body=None, key: str | None = None):
        """The body of a successful call; fails the test, naming the call, otherwise."""
        answer = self(method, path, json_body, key)
        assert 200 <= answer.status < 300, (
            f"preparing data: {method} {path} {json_body!r} answered {answer.status} {answer.body!r}"
        )
        return answer.body

    def organization(self, name: str | None = None) -> dict:
        return self.ok("POST", "/v1/admin/organizations", {"name": name or unique("Org")})

    def role(self, name: str | None = None, permissions=(), limits=()) -> dict:
        return self.ok(
            "POST",
            "/v1/admin/roles",
            {
                "name": name or unique("Role"),
                "permissions": list(permissions),
                "limits": list(limits),
            },
        )

    def user(
        self, role: int, email: str | None = None, password: str = "correct horse battery", **fields
    ) -> dict:
        """A new user; the answer carries the `password` given, to sign in with."""
        body = {"email": email or unique_email(), "password": password, "role": role, **fields}
        user = self.ok("POST", "/v1/admin/users", body)
        return {**user, "password": password}

    def key(self, user: int, name: str | None = None) -> dict:
        return self.ok("POST", "/v1/admin/tokens", {"name": name or unique("key"), "user": user})

    def usage(
        self, key: str, router: int, prompt_tokens: int, completion_tokens: int, cost: float
    ) -> dict:
        """A model call of `key`, authorized then reported by a gateway (the master key)."""
        request_id = f"test-{secrets.token_hex(8)}"
        decision = self.ok(
            "POST",
            "/v1/auth/authorize",
            {
                "key": key,
                "router": router,
                "request_id": request_id,
                "tokens": prompt_tokens,
                "cost": cost,
            },
        )
        assert decision["allowed"], f"preparing usage: the call was not allowed: {decision!r}"
        return self.ok(
            "POST",
            "/v1/auth/usage",
            {
                "request_id": request_id,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "cost": cost,
            },
        )

    def login(self, email: str, password: str) -> Answer:
        """`POST /v1/auth/login`: tells whether a password works."""
        return call(self.base, "POST", "/v1/auth/login", {"email": email, "password": password})

    def me(self, key: str) -> Answer:
        """`GET /v1/me/info` with `key`: tells whether a key works, and whose it is."""
        return call(self.base, "GET", "/v1/me/info", key=key)


# ---------------------------------------------------------------------------------------------
# Finding things as a person does.


def where(page: Page) -> str:
    """The page's title and address, for failure messages."""
    try:
        return f"{page.title()!r} at {page.url}"
    except Exception:  # noqa: BLE001 - only for a message
        return page.url


def main(page: Page) -> Locator:
    return page.locator("main#main")


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def post_form(page: Page, action: str) -> Locator:
    """The form of `main` that POSTs to `action` (a path under /console, e.g.
    `admin/organizations`): the one a person fills on that page."""
    form = page.locator(f'main form[method="post" i][action$="{action}"]')
    expect(form, f"one form POSTing to {action} on {where(page)}").to_have_count(1)
    return form


def get_form(page: Page) -> Locator:
    """The search and filter form of `main` (method GET)."""
    form = page.locator('main form:not([method="post" i])')
    expect(form, f"one search/filter form (method GET) on {where(page)}").to_have_count(1)
    return form


def _page_of(scope) -> Page:
    return scope if isinstance(scope, Page) else scope.page


def field(scope, name: str) -> Locator:
    """The control named `name` in `scope`, found by its label as a person does: the label that
    is `for` it (ids are the field names, e.g. `limits.0.value` has id `limits-0-value`)."""
    page = _page_of(scope)
    control = scope.locator(f'[name="{name}"]:not([type="hidden"])')
    expect(control, f"one field named {name!r} on {where(page)}").to_have_count(1)
    control_id = control.get_attribute("id")
    assert control_id, f"the field {name!r} on {where(page)} has no id, so no label can be for it"
    expected_id = name.replace(".", "-")
    label = page.locator(f'label[for="{control_id}"]')
    expect(
        label, f"a <label for={control_id!r}> for the field {name!r} on {where(page)}"
    ).to_have_count(1)
    text = " ".join(label.inner_text().split())
    assert text, f"the label of {name!r} on {where(page)} is empty"
    by_label = scope.get_by_label(text, exact=True)
    expect(by_label, f"the label {text!r} on {where(page)} names exactly one field").to_have_count(
        1
    )
    assert by_label.get_attribute("name") == name, (
        f"the label {text!r} on {where(page)} names the field {by_label.get_attribute('name')!r}, "
        f"not {name!r}"
    )
    if control_id != expected_id:
        # Two forms of one page may hold fields of the same name (the account page's
        # `current_password`): only then may an id differ from the name.
        same = page.locator(f'[name="{name}"]:not([type="hidden"])').count()
        assert same > 1, (
            f"the field {name!r} on {where(page)} has id {control_id!r}, not {expected_id!r}"
        )
    return by_label


def checkbox(scope, name: str, value: str) -> Locator:
    """The checkbox `name`=`value` in `scope`, found by its label."""
    page = _page_of(scope)
    box = scope.locator(f'input[type="checkbox"][name="{name}"][value="{value}"]')
    expect(box, f"a checkbox {name}={value} on {where(page)}").to_have_count(1)
    box_id = box.get_attribute("id")
    assert box_id, f"the checkbox {name}={value} on {where(page)} has no id"
    label = page.locator(f'label[for="{box_id}"]')
    expect(label, f"a <label for={box_id!r}> for the checkbox {name}={value}").to_have_count(1)
    text = " ".join(label.inner_text().split())
    by_label = scope.get_by_role("checkbox", name=text, exact=True)
    expect(by_label, f"the checkbox labelled {text!r} on {where(page)}").to_have_count(1)
    return by_label


def set_value(scope, name: str, value) -> None:
    """Fills the field `name`: types into an input, or picks the option of a select whose value
    or text is `value`."""
    control = field(scope, name)
    if re.fullmatch(r"limits\.\d+\.\w+", name):
        reveal_limit_row(scope, control)
    value = "" if value is None else str(value)
    if control.evaluate("e => e.tagName") == "SELECT":
        control.select_option(value)
    else:
        control.fill(value)


def reveal_limit_row(form: Locator, control: Locator) -> None:
    """Makes the limits editor's row of `control` visible as a person does, when the page keeps
    its empty rows out of sight until asked: with the button "Add a limit"."""
    add = form.get_by_role("button", name=re.compile(r"^Add\b.*\blimit", re.IGNORECASE))
    for _ in range(5):
        if control.is_visible() or add.count() != 1:
            return
        add.click()


def no_browser_validation(form: Locator) -> None:
    """Lets `form` reach the server with values the browser's own checks (`required`,
    `type="email"`, `minlength`) would stop: the server's sentences are what is tested, and a
    client that skips those checks (an old browser, a script) must meet them as well."""
    form.evaluate("f => { f.noValidate = true; }")


def button(scope, name: str | None) -> Locator:
    """The button `name` of `scope`; without a name, its only button."""
    page = _page_of(scope)
    if name is None:
        found = scope.get_by_role("button")
        expect(found, f"exactly one button in the form on {where(page)}").to_have_count(1)
        return found
    if isinstance(name, re.Pattern):
        found = scope.get_by_role("button", name=name)
    else:
        found = scope.get_by_role("button", name=name, exact=True)
    expect(found, f"one button {name!r} on {where(page)}").to_have_count(1)
    return found


def submit(scope, name=None) -> Response:
    """Clicks the button `name` of `scope` and returns the final answer of the navigation it
    starts (where a 303 led, or the form shown again)."""
    page = _page_of(scope)
    target = button(scope, name)
    with page.expect_navigation() as navigation:
        target.click()
    return navigation.value


def first_status(response: Response) -> int:
    """The status of the first answer of a navigation: the POST's 303 when it was redirected."""
    request = response.request
    while request.redirected_from is not None:
        request = request.redirected_from
    first = request.response()
    assert first is not None, f"no answer to {request.method} {request.url}"
    return first.status


def row(page: Page, text: str) -> Locator:
    """The table row that shows `text` (a unique name or email)."""
    found = main(page).get_by_role("row").filter(has_text=text)
    expect(found, f"one table row showing {text!r} on {where(page)}").to_have_count(1)
    return found


def expect_cell(row_locator: Locator, pattern: str, what: str) -> None:
    """A cell of the row that shows exactly `pattern` (a regular expression), e.g. a figure."""
    cells = row_locator.locator("td, th").filter(has_text=re.compile(rf"^\s*(?:{pattern})\s*$"))
    expect(cells, f"{what}: a cell showing {pattern!r}").not_to_have_count(0)


def no_row(page: Page, text: str) -> None:
    expect(
        main(page).get_by_role("row").filter(has_text=text),
        f"no table row showing {text!r} on {where(page)}",
    ).to_have_count(0)


def row_link(row_locator: Locator, pattern: str) -> Locator:
    """The link of a row whose name starts with `pattern` (a regular expression): "Delete" may
    carry the object's name for screen readers ("Delete Acme")."""
    link = row_locator.get_by_role("link", name=re.compile(rf"^{pattern}"))
    expect(link, f"a link {pattern!r} in the row").to_have_count(1)
    return link


def open_row(page: Page, text: str) -> None:
    """Opens the object shown by the row `text`: its link "Edit", or its name as a link."""
    the_row = row(page, text)
    link = the_row.get_by_role("link", name=re.compile(rf"^(Edit\b|{re.escape(text)}$)"))
    expect(
        link, f"a link 'Edit' or {text!r} in the row of {text!r} on {where(page)}"
    ).to_have_count(1)
    link.click()
    page.wait_for_load_state()


def expect_at(page: Page, path: str) -> None:
    """`page` shows /console/`path` (a regular expression), with any query string (a list
    redirected to may keep its order or page)."""
    expect(page, f"the browser is at /console/{path}").to_have_url(
        re.compile(rf"/console/{path}(\?[^#]*)?(#.*)?$")
    )


def go(page: Page, link: str) -> None:
    """Follows the link `link` of the main navigation."""
    target = nav(page).get_by_role("link", name=link, exact=True)
    expect(target, f"a link {link!r} in the main navigation of {where(page)}").to_have_count(1)
    target.click()
    page.wait_for_load_state()


def expect_flash(page: Page, noun: str | None = None, verb: str | None = None) -> None:
    """The message shown once after a change (`<div class="alert ok" role="status">`); with
    `noun` and `verb`, one like "Organization created." (which may name the object: "Organization
    “Acme” created.")."""
    flash = page.locator('.alert.ok[role="status"]')
    expect(flash, f"a success message (role=status) on {where(page)}").to_have_count(1)
    if noun is not None:
        expect(flash, f"the success message on {where(page)}").to_have_text(
            re.compile(rf"^\s*{re.escape(noun)}\b.*\b{re.escape(verb)}\.\s*$", re.DOTALL)
        )


def expect_alert(page: Page, text: str) -> None:
    """An error about no field, above the form (`<div class="alert error" role="alert">`)."""
    alert = page.locator('.alert.error[role="alert"]')
    expect(alert, f"an error message (role=alert) on {where(page)}").to_have_count(1)
    expect(alert, f"the error message on {where(page)}").to_contain_text(text)


def expect_field_error(scope, name: str, sentence: str) -> None:
    """`sentence` next to the field `name`: `<p class="field-error" id="<id>-error">`, which the
    field points to (`aria-invalid`, `aria-describedby`), so that a screen reader reads it too."""
    page = _page_of(scope)
    control = field(scope, name)
    control_id = control.get_attribute("id")
    error_id = f"{control_id}-error"
    message = f"the error of the field {name!r} on {where(page)}"
    expect(control, message).to_have_attribute("aria-invalid", "true")
    expect(control, message).to_have_attribute(
        "aria-describedby", re.compile(rf"(^|\s){re.escape(error_id)}(\s|$)")
    )
    error = page.locator(f'[id="{error_id}"]')
    expect(error, message).to_have_class(re.compile(r"(^|\s)field-error(\s|$)"))
    expect(error, message).to_contain_text(sentence)
    expect(control, message).to_have_accessible_description(re.compile(re.escape(sentence)))


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Signs in through the login form, as a person does, and lands on the account page."""
    answer = page.goto(f"{base}/console/login")
    assert answer is not None and answer.status == 200, (
        f"GET /console/login answered {answer.status if answer else 'nothing'}, not 200"
    )
    form = post_form(page, "login")
    set_value(form, "email", email)
    set_value(form, "password", password)
    button(form, "Sign in").click()
    try:
        page.wait_for_url(re.compile(r"/console/account$"))
    except Exception as error:
        invalid = page.evaluate(
            "() => [...document.querySelectorAll('input')].filter(e => !e.validity.valid)"
            ".map(e => `${e.name}: ${e.validationMessage}`)"
        )
        raise AssertionError(
            f"signing in as {email} did not lead to /console/account: now on {where(page)}; "
            f"fields the browser refused: {invalid}; page says: {main_text(page)!r}"
        ) from error


def main_text(page: Page) -> str:
    try:
        return " ".join(page.locator("main").inner_text(timeout=1000).split())[:500]
    except Exception:  # noqa: BLE001 - only for a message
        return ""


def sign_out(page: Page) -> None:
    button(page.locator("header"), "Sign out").click()
    page.wait_for_url(re.compile(r"/console/login$"))


# ---------------------------------------------------------------------------------------------
# The checks every page gets.


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot of `page` as `name`.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_slug(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _snapshot(page: Page, color_scheme: str, bypass_csp: bool):
    """A new context showing `page` as it is now (its HTML, served again for its address, with
    its cookies): pages reached by a POST (a form shown with its errors, a new key) can be checked
    again without sending anything to the server."""
    url = page.url.split("#")[0]
    html = page.content()
    viewport = page.viewport_size
    context = page.context.browser.new_context(
        bypass_csp=bypass_csp,
        color_scheme=color_scheme,
        storage_state=page.context.storage_state(),
        viewport=viewport,
        timezone_id="UTC",
        locale="en-US",
    )
    snapshot = context.new_page()
    snapshot.route(
        lambda address: address.split("#")[0] == url,
        lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html),
        times=1,
    )
    snapshot.goto(url)
    snapshot.wait_for_load_state("load")
    return context, snapshot


def run_axe(page: Page) -> dict:
    """axe-core's results for `page` (already in a context that bypasses CSP)."""
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")


def _axe_violations(results: dict) -> list[str]:
    found = []
    for violation in results["violations"]:
        if violation.get("impact") not in AXE_FAILING:
            continue
        nodes = "; ".join(
            f"{' '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}"
            for node in violation["nodes"][:3]
        )
        more = len(violation["nodes"]) - 3
        found.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
            f" at {nodes}" + (f" (and {more} more)" if more > 0 else "")
        )
    return found


def axe_check(page: Page, color_scheme: str = "light", name: str | None = None) -> None:
    """Runs axe-core on `page` as it is now, in a `color_scheme` context that bypasses the
    console's CSP (which rightly forbids injected scripts; every other check runs under it), and
    fails on any violation of impact serious or critical, listing them. With `name`, also takes
    that context's screenshot."""
    context, snapshot = _snapshot(page, color_scheme, bypass_csp=True)
    try:
        if name is not None:
            shot(snapshot, name)
        violations = _axe_violations(run_axe(snapshot))
    finally:
        context.close()
    assert not violations, (
        f"axe-core ({color_scheme} colours) on {where(page)} found {len(violations)} serious or "
        "critical violations:\n  " + "\n  ".join(violations)
    )


def page_weight(page: Page) -> tuple[int, list[str]]:
    """What loading `page`'s address weighs (HTML, CSS and JavaScript as transferred: bodies and
    headers) on a cold cache, in a fresh context with the same cookies; and what it loaded."""
    context = page.context.browser.new_context(storage_state=page.context.storage_state())
    requests = []
    context.on("requestfinished", lambda request: requests.append(request))
    try:
        fresh = context.new_page()
        fresh.goto(page.url.split("#")[0])
        fresh.wait_for_load_state("load")
        total, parts = 0, []
        for request in requests:
            if request.resource_type not in WEIGHED:
                continue
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            total += size
            parts.append(f"{request.resource_type} {request.url}: {size} B")
        return total, parts
    finally:
        context.close()


def check_structure(page: Page) -> None:
    """The HTML conventions of the contract that every page follows."""
    here = where(page)
    expect(page.locator("html"), f"<html lang='en'> on {here}").to_have_attribute("lang", "en")
    expect(page, f"a title '… · Gatehouse' on {here}").to_have_title(re.compile(r". · Gatehouse$"))
    skip = page.get_by_role("link", name="Skip to content", exact=True)
    expect(skip, f"a skip link 'Skip to content' on {here}").to_have_count(1)
    expect(skip, f"the skip link on {here} goes to #main").to_have_attribute("href", "#main")
    expect(page.locator("main#main"), f"one <main id='main'> on {here}").to_have_count(1)
    expect(page.locator("h1"), f"exactly one <h1> on {here}").to_have_count(1)
    expect(page.locator("main#main h1"), f"the <h1> inside <main> on {here}").to_have_count(1)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => !['hidden', 'submit', 'button', 'reset'].includes(e.type))
            .filter(e => !e.id || !document.querySelector(`label[for="${CSS.escape(e.id)}"]`))
            .map(e => e.name || e.outerHTML.slice(0, 80))"""
    )
    assert not unlabelled, f"fields without a <label for> on {here}: {unlabelled}"
    tables = page.evaluate(
        """() => [...document.querySelectorAll('table')].map((t, i) => ({
            index: i,
            caption: !!t.querySelector('caption') && t.querySelector('caption').textContent.trim() !== '',
            columns: t.querySelectorAll('th[scope="col"]').length,
            unscoped: [...t.querySelectorAll('thead th')]
                .filter(th => th.getAttribute('scope') !== 'col').length,
        }))"""
    )
    for table in tables:
        assert table["caption"], f"table {table['index']} on {here} has no <caption>"
        assert table["columns"] and not table["unscoped"], (
            f"table {table['index']} on {here}: its column headers must be <th scope='col'>"
        )


def check_page(page: Page, name: str, dark: bool = False) -> None:
    """Every check a page gets: the contract's structure, a screenshot (and one in dark colours
    for the main pages), axe-core in each of those colour schemes, and its weight."""
    check_structure(page)
    shot(page, name)
    axe_check(page, "light")
    if dark:
        axe_check(page, "dark", name=f"{name}-dark")
    total, parts = page_weight(page)
    assert total < PAGE_BUDGET, (
        f"{where(page)} weighs {total} B of HTML, CSS and JavaScript, over {PAGE_BUDGET} B:\n  "
        + "\n  ".join(parts)
    )


def focus_is_visible(page: Page) -> dict:
    """The focused element and whether its computed style shows the focus (an outline or a box
    shadow)."""
    return page.evaluate(
        """() => {
            const e = document.activeElement;
            const s = getComputedStyle(e);
            const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
            const shadow = s.boxShadow !== 'none';
            const box = e.getBoundingClientRect();
            return {
                tag: e.tagName, text: (e.innerText || e.value || e.name || '').trim().slice(0, 40),
                href: e.getAttribute('href'), name: e.getAttribute('name'), visible: outline || shadow,
                outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow,
                onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0,
            };
        }"""
    )
