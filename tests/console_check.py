"""Drives the operator console (/console/) of a local server in headless Chromium, as an operator would,
and checks each answer against the API: exits 0 when every check passed.

Usage:
    .venv/bin/python tests/console_check.py URL [--screenshot PATH]
    .venv/bin/python tests/console_check.py URL --bench BOARDS

URL is a local server (`kickboard-local`, with its simulated vehicles): its loopback-only token route signs
the operator in. The browser is Debian's Chromium (/usr/bin/chromium, or CHROMIUM), driven by Playwright;
nothing is downloaded. Requests that leave the server (map tiles) are refused, as offline: the boards and
zones must draw without tiles. --screenshot saves the console with boards, a zone and an alert (README's
image). --bench registers BOARDS boards through the API (a bounded pool of connections), then times sign-in
to every marker drawn, and sums the gzipped size of what the page downloaded (BENCHMARKS.md).
"""

import argparse
import base64
import gzip
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# RFC 7636, appendix B: the verifier and its S256 challenge.
PKCE_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PKCE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
# Seoul City Hall; the boards stand in a row along one street, a few metres apart.
ORIGIN = (37.5665, 126.9780)
HOSTILE_NAME = '<img src=x onerror="window.__injected=1">구역'
WAIT_MS = 15_000

failures: list[str] = []


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


def call(base: str, method: str, path: str, body: object = None, token: str | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def token(base: str, sub: str, groups: list[str]) -> str:
    status, body = call(base, "POST", "/local/tokens", {"sub": sub, "groups": groups})
    assert status == 200, body
    return body["token"]


def board(base: str, admin: str, board_id: str) -> dict:
    status, body = call(base, "GET", "/admin/kickboards", token=admin)
    assert status == 200, body
    return next((b for b in body["kickboards"] if b["kickboardId"] == board_id), {})


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True)


def offline_page(browser, base: str, log: list[str]) -> Page:
    """A page whose requests beyond `base` fail (no tiles), logging its errors and CSP reports."""
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="ko-KR")
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    page.on("dialog", lambda dialog: dialog.accept())
    page.on("pageerror", lambda error: log.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: log.append(f"console: {message.text}") if "Content Security Policy" in message.text else None,
    )
    return page


def sign_in(page: Page, base: str, sub: str, group: str) -> None:
    page.goto(base + "/console/")
    page.fill("#operator-id", sub)
    page.select_option("#operator-group", group)
    page.click("#local-sign-in button[type=submit]")


def map_point(page: Page, fx: float, fy: float) -> tuple[float, float]:
    box = page.locator("#map").bounding_box()
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def draw(page: Page, points: list[tuple[float, float]]) -> None:
    page.click("#draw-zone")
    for fx, fy in points:
        x, y = map_point(page, fx, fy)
        page.mouse.click(x, y)
    page.click("#finish-drawing")


def static_checks(base: str) -> None:
    with urllib.request.urlopen(base + "/console/", timeout=10) as answer:
        policy = answer.headers.get("Content-Security-Policy", "")
        html = answer.read().decode()
        check("script-src 'self';" in policy and "unsafe-inline" not in policy, f"the page's CSP forbids inline scripts: {policy}")
        check(answer.headers.get("X-Content-Type-Options") == "nosniff", "nosniff")
    check("<script>" not in html and " style=" not in html and " on" not in html.split("<body", 1)[1].replace(" one", ""),
          "index.html has no inline script, style or handler")
    status, _ = call(base, "GET", "/console/no-such-file.js")
    check(status == 404, "an unknown console file is 404")


def customer_is_refused(browser, base: str, log: list[str]) -> None:
    page = offline_page(browser, base, log)
    asked = []
    page.on("request", lambda request: asked.append(urllib.parse.urlsplit(request.url).path))
    sign_in(page, base, "console-customer", "customer")
    expect(page.locator("#not-operator")).to_be_visible(timeout=WAIT_MS)
    check("console-customer" in page.inner_text("#not-operator-text"), "a customer sees 'not an operator', naming the account")
    page.wait_for_timeout(1500)
    fleet = [path for path in asked if path.startswith(("/admin/", "/kickboards", "/geofencing"))]
    check(not fleet and page.locator("#console").is_hidden(), f"and the fleet is never asked for (asked: {fleet})")
    page.close()


def forged_token_is_dropped(browser, base: str, log: list[str]) -> None:
    """A token the API refuses (forged, or from a server since restarted) sends the page back to sign-in."""
    page = offline_page(browser, base, log)
    page.goto(base + "/console/")
    claims = {"sub": "mallory", "cognito:groups": ["admin"], "exp": int(time.time()) + 3600}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    forged = json.dumps({"token": f"eyJhbGciOiJSUzI1NiJ9.{payload}.AAAA", "refreshToken": None})
    page.evaluate("token => sessionStorage.setItem('kickboard.console.tokens', token)", forged)
    page.reload()
    expect(page.locator("#local-sign-in")).to_be_visible(timeout=WAIT_MS)
    check(page.locator(".board").count() == 0, "a token the API refuses: back to the sign-in form, no fleet shown")
    page.close()


def operator_flow(browser, base: str, log: list[str], screenshot: str | None) -> None:
    admin = token(base, "console-check", ["admin"])
    run = uuid.uuid4().hex[:6]
    ids = [f"cc-{run}-{i}" for i in range(5)]
    for i, board_id in enumerate(ids):
        status, body = call(base, "POST", "/kickboards",
                            {"kickboardId": board_id, "model": "Ninebot Max", "lat": ORIGIN[0], "lon": ORIGIN[1] + 0.0002 * i},
                            admin)
        assert status == 201, body
    page = offline_page(browser, base, log)
    sign_in(page, base, "console-check", "admin")
    expect(page.locator("#console")).to_be_visible(timeout=WAIT_MS)
    check(page.evaluate(f"import('./src/auth.js').then(m => m.pkceChallenge('{PKCE_VERIFIER}'))") == PKCE_CHALLENGE,
          "the PKCE S256 challenge matches RFC 7636's example")
    expect(page.locator("#fleet-status")).to_contain_text(f"{len(ids)}대", timeout=WAIT_MS)
    expect(page.locator(".board")).to_have_count(len(ids), timeout=WAIT_MS)
    check(all(page.locator(f'[data-board-id="{i}"].board--available').count() == 1 for i in ids),
          f"{len(ids)} boards, {len(ids)} green markers, with no tiles")

    # A board's panel: into maintenance and back, the marker and the API agreeing.
    target = ids[2]
    # By keyboard: a dot takes the focus, Enter opens its panel.
    page.focus(f'[data-board-id="{target}"]')
    page.keyboard.press("Enter")
    expect(page.locator("#panel-title")).to_contain_text(target)
    page.click('#panel [data-action="maintenance"]')
    expect(page.locator(f'[data-board-id="{target}"].board--maintenance')).to_have_count(1, timeout=WAIT_MS)
    check(board(base, admin, target).get("status") == "MAINTENANCE", "maintenance from the panel: the marker turns grey and the API says MAINTENANCE")
    page.click('#panel [data-action="service"]')
    expect(page.locator(f'[data-board-id="{target}"].board--available')).to_have_count(1, timeout=WAIT_MS)
    check(board(base, admin, target).get("status") == "AVAILABLE", "back in service: green again, AVAILABLE in the API")

    # Commands: rung by the simulated vehicle; a board offline times out, said plainly.
    page.click('#panel [data-action="ring"]')
    expect(page.locator("#panel-answer")).to_contain_text("ring:", timeout=WAIT_MS)
    check("failed" not in (page.get_attribute("#panel-answer", "class") or ""), f"ring: {page.inner_text('#panel-answer')}")
    call(base, "PUT", f"/local/vehicles/{target}", {"online": False})
    page.click('#panel [data-action="lock"]')
    expect(page.locator("#panel-answer")).to_contain_text("timed out", timeout=30_000)
    check(True, f"a board that does not answer: {page.inner_text('#panel-answer')}")
    call(base, "PUT", f"/local/vehicles/{target}", {"online": True})

    # Retire from the panel (confirmed): the marker goes, the API has it retired.
    gone = ids.pop(1)
    page.click(f'[data-board-id="{gone}"]')
    page.click('#panel [data-action="retire"]')
    expect(page.locator(f'[data-board-id="{gone}"]')).to_have_count(0, timeout=WAIT_MS)
    check(board(base, admin, gone).get("status") in (None, "RETIRED"), "retired from the panel: its marker is gone")

    # A refusal is shown as the API words it: a board retired behind the panel's back.
    behind = ids.pop()
    page.click(f'[data-board-id="{behind}"]')
    call(base, "DELETE", f"/kickboards/{behind}", token=admin)
    page.click('#panel [data-action="maintenance"]')
    expect(page.locator("#panel-answer.failed")).to_contain_text("40", timeout=WAIT_MS)
    check(True, f"a refused change shows the problem: {page.inner_text('#panel-answer')}")
    # The next read no longer has the board: its panel closes by itself.
    expect(page.locator("#panel")).to_be_hidden(timeout=WAIT_MS)

    # A zone drawn by hand, named with markup that must stay text.
    draw(page, [(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)])
    page.fill("#zone-name", HOSTILE_NAME)
    zone_id = f"cc-zone-{run}"
    page.fill("#zone-id", zone_id)
    page.uncheck("#zone-end")
    page.fill("#zone-speed", "15")
    page.click("#zone-form button[type=submit]")
    expect(page.locator(f'#zone-list [data-zone-id="{zone_id}"]')).to_have_text(HOSTILE_NAME, timeout=WAIT_MS)
    _, zones = call(base, "GET", "/geofencing/zones")
    stored = next((z for z in zones if z["zoneId"] == zone_id), None)
    check(stored is not None and stored["name"] == HOSTILE_NAME and not stored["rules"]["rideEndAllowed"]
          and stored["rules"]["maximumSpeedKph"] == 15 and len(stored["geometry"]["coordinates"][0]) == 5,
          "a zone drawn by hand is stored with its name, rules and 4 vertices")
    check(page.evaluate("window.__injected") is None and page.locator("img[src=x]").count() == 0,
          "a zone name with markup is shown as text, never run")

    # A polygon that crosses itself: the API's 400 detail next to the form.
    draw(page, [(0.3, 0.3), (0.7, 0.7), (0.7, 0.3), (0.3, 0.7)])
    page.fill("#zone-name", "bow tie")
    page.click("#zone-form button[type=submit]")
    expect(page.locator("#zone-error")).to_contain_text("400", timeout=WAIT_MS)
    check(True, f"a crossing polygon shows the API's answer: {page.inner_text('#zone-error')}")
    page.click("#zone-cancel")

    # An existing zone, selected from the list: edited, then deleted (confirmed).
    page.click(f'#zone-list [data-zone-id="{zone_id}"]')
    page.fill("#zone-priority", "7")
    page.click("#zone-form button[type=submit]")
    expect(page.locator("#zone-list")).to_contain_text("7", timeout=WAIT_MS)
    _, zones = call(base, "GET", "/geofencing/zones")
    check(any(z["zoneId"] == zone_id and z["priority"] == 7 and z["name"] == HOSTILE_NAME for z in zones),
          "a zone selected from the list is edited in place")
    page.click(f'#zone-list [data-zone-id="{zone_id}"]')
    page.click("#zone-delete")
    expect(page.locator(f'#zone-list [data-zone-id="{zone_id}"]')).to_have_count(0, timeout=WAIT_MS)
    _, zones = call(base, "GET", "/geofencing/zones")
    check(all(z["zoneId"] != zone_id for z in zones), "and deleted")

    # A low battery: the crew's alert appears, the marker turns orange.
    low = ids[0]
    status, body = call(base, "PUT", f"/kickboards/{low}/telemetry", {"lat": ORIGIN[0], "lon": ORIGIN[1], "batteryPct": 5}, admin)
    assert status == 200, body
    alert = page.locator('#alerts li[data-kind="battery-low"]', has=page.locator("button", has_text=low))
    expect(alert).to_have_count(1, timeout=WAIT_MS)
    # The alert's board button zooms to the board's own dot and opens its panel.
    alert.locator("button").click()
    expect(page.locator(f'[data-board-id="{low}"].board--low')).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator("#panel-title")).to_contain_text(low)
    check(True, "a low-battery report: the crew's alert is listed, its board shown orange")

    # English by the switch.
    page.click("#lang")
    check(page.evaluate("document.documentElement.lang") == "en", "the language switch sets <html lang>")
    expect(page.locator("#fleet-status")).to_contain_text(f"{len(ids)} boards")
    if screenshot:
        page.click("#lang")
        scene(base, admin, ids)
        page.reload()
        expect(page.locator(f'[data-board-id="{ids[-1]}"].board--maintenance')).to_have_count(1, timeout=WAIT_MS)
        page.locator('#alerts li[data-kind="battery-low"] button').first.click()
        page.wait_for_timeout(800)
        page.screenshot(path=screenshot)
        print(f"saved {screenshot}")

    # The API down: a banner, and the fleet's age turning red instead of passing as current.
    page.route("**/admin/kickboards", lambda route: route.abort())
    expect(page.locator("#banner")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#fleet-status")).to_have_class("fleet-status stale", timeout=25_000)
    check(True, f"API unreachable: {page.inner_text('#banner')} / {page.inner_text('#fleet-status')}")
    page.unroute("**/admin/kickboards")
    page.close()


def scene(base: str, admin: str, ids: list[str]) -> None:
    """README's picture: more boards in the street, one in maintenance, one out on a ride, and a
    no-parking zone."""
    lat, lon = ORIGIN
    for i in range(6):
        status, body = call(base, "POST", "/kickboards",
                            {"model": "Ninebot Max", "lat": lat + 0.0003 * (i % 2 * 2 - 1), "lon": lon + 0.0003 * i}, admin)
        assert status == 201, body
        ids.append(body["kickboardId"])
    call(base, "PUT", f"/kickboards/{ids[-1]}/status", {"status": "MAINTENANCE"}, admin)
    rider = token(base, "console-rider", [])
    licence = {"licenceNumber": "11-22-333333-44", "name": "홍길동", "birthDate": "2001-02-03"}
    _, plans = call(base, "GET", "/plans")
    steps = [("PUT", "/me/licence", licence), ("POST", "/passes", {"planId": plans[0]["planId"]})]
    for method, path, body in steps:
        status, answer = call(base, method, path, body, rider)
        assert status in (200, 201), answer
    status, answer = call(base, "POST", f"/passes/{answer['passId']}/payment", None, rider)
    assert status == 200, answer
    status, answer = call(base, "POST", "/rentals", {"passId": answer["passId"], "kickboardId": ids[-2]}, rider)
    assert status == 201, answer
    ring = [[lon + 0.0003, lat - 0.0001], [lon + 0.0009, lat - 0.0001], [lon + 0.0009, lat + 0.0002],
            [lon + 0.0003, lat + 0.0002], [lon + 0.0003, lat - 0.0001]]
    rules = {"rideStartAllowed": True, "rideEndAllowed": False, "rideThroughAllowed": True, "maximumSpeedKph": 10}
    status, body = call(base, "PUT", "/geofencing/zones/city-hall-plaza",
                        {"name": "시청 앞 광장 (주차 금지)", "priority": 1, "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "rules": rules}, admin)
    assert status == 200, body


def bench(playwright, base: str, count: int) -> None:
    admin = token(base, "console-bench", ["admin"])
    host = urllib.parse.urlsplit(base).netloc

    def register(chunk: range) -> None:
        connection = http.client.HTTPConnection(host, timeout=30)
        for i in chunk:
            body = json.dumps({"model": "Ninebot Max", "lat": ORIGIN[0] + (i // 100) * 0.0005 - 0.025,
                               "lon": ORIGIN[1] + (i % 100) * 0.0006 - 0.03})
            connection.request("POST", "/kickboards", body, {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 201, answer.status
        connection.close()

    started = time.monotonic()
    workers = 4
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(register, [range(w, count, workers) for w in range(workers)]))
    print(f"registered {count} boards in {time.monotonic() - started:.1f} s")
    browser = launch(playwright)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    files: set[str] = set()
    page.on("requestfinished", lambda request: files.add(request.url) if request.url.startswith(base + "/console/") else None)
    page.goto(base + "/console/")
    page.wait_for_selector("#local-sign-in")
    started = time.monotonic()
    page.click("#local-sign-in button[type=submit]")
    # A selector, not a JavaScript predicate: the page's policy forbids eval.
    page.wait_for_selector(f'body[data-fleet-drawn="{count}"]', state="attached", timeout=120_000)
    # One frame more: the markers are in the map once the browser has painted.
    page.evaluate("new Promise(requestAnimationFrame)")
    elapsed = time.monotonic() - started
    print(f"sign-in to {count} markers drawn: {elapsed:.2f} s")
    sizes = {}
    for url in files:
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = answer.read()
        sizes[url.removeprefix(base)] = (len(body), len(gzip.compress(body, 9)))
    for path, (raw, packed) in sorted(sizes.items()):
        print(f"  {path}: {raw} B, {packed} B gzipped")
    print(f"the page's files: {sum(r for r, _ in sizes.values())} B, {sum(p for _, p in sizes.values())} B gzipped (gzip -9 each)")
    browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--screenshot")
    parser.add_argument("--bench", type=int)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    with sync_playwright() as playwright:
        if args.bench:
            bench(playwright, base, args.bench)
            return 0
        static_checks(base)
        log: list[str] = []
        browser = launch(playwright)
        try:
            customer_is_refused(browser, base, log)
            forged_token_is_dropped(browser, base, log)
            operator_flow(browser, base, log, args.screenshot)
        finally:
            browser.close()
        check(not log, "no page error and no CSP violation" + "".join(f"\n    {line}" for line in log))
    print("console check: " + ("all passed" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
