"""Pulls the MDS 2.0 Provider API of a local server after scripts/demo, as a city's agency would, and
validates every document with tests/mds_check.py (and the report of the demo's month): exits 0 when all are
valid and the demo's rides are there.

Usage: .venv/bin/python tests/mds_demo_check.py URL

URL is a local server (`kickboard-local`): its loopback-only routes mint the agency's token and move its
clock forward, past the end of the hours the demo ran in, so those hours are served. The server's clock
only moves forward: run this last.
"""

import json
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mds_check import check  # noqa: E402

MDS_TYPE = "application/vnd.mds+json;version=2.0"
MDS_CSV_TYPE = "text/vnd.mds+csv;version=2.0"
# An hour is served once it has been over for five minutes (domain::mds::HOUR_SETTLES_AFTER).
PAST_THE_HOUR = timedelta(hours=1, minutes=10)


def call(method: str, url: str, body: object = None, token: str | None = None, accept: str = MDS_TYPE) -> tuple[int, object]:
    """The status and body: JSON decoded, a text/* body (a report) as its text."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", accept)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read()
            if answer.headers.get_content_type().startswith("text/"):
                return answer.status, text.decode()
            return answer.status, json.loads(text or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    base = sys.argv[1].rstrip("/")
    _, minted = call("POST", f"{base}/local/tokens", {"sub": "demo-agency", "groups": ["agency"]})
    token = minted["token"]
    _, clock = call("GET", f"{base}/local/clock")
    now = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
    # The demo took a minute or two: it may have begun in the hour before this one.
    hours = sorted({(now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H"), now.strftime("%Y-%m-%dT%H")})
    call("PUT", f"{base}/local/clock", {"offsetSeconds": clock["offsetSeconds"] + int(PAST_THE_HOUR.total_seconds())})

    documents = []
    for hour in hours:
        documents.append(("/trips", f"/mds/trips?end_time={hour}"))
        documents.append(("/events/historical", f"/mds/events/historical?event_time={hour}"))
        documents.append(("/telemetry", f"/mds/telemetry?telemetry_time={hour}"))
    start = int((now - timedelta(hours=1)).timestamp() * 1000)
    documents.append(("/events/recent", f"/mds/events/recent?start_time={start}&end_time={start + 2 * 3600 * 1000}"))
    documents.append(("/vehicles", "/mds/vehicles"))
    documents.append(("/vehicles/status", "/mds/vehicles/status"))

    problems, trips, answers = [], 0, {}
    for operation, path in documents:
        status, body = call("GET", f"{base}{path}", token=token)
        answers[path] = body
        if status == 404 and operation in ("/trips", "/events/historical"):
            continue  # an hour of the two the demo did nothing in
        if status != 200:
            problems.append(f"GET {path}: {status} {body}")
            continue
        problems += [f"GET {path}: {line}" for line in check(operation, str(status), body)]
        trips += len(body.get("trips", [])) if operation == "/trips" else 0
    # The month's report: the clock moves past the month's end in Seoul (the server's default city; no
    # daylight saving there) and the five minutes after it.
    seoul = timezone(timedelta(hours=9))
    local = now.astimezone(seoul)
    next_month = (local.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    _, clock = call("GET", f"{base}/local/clock")
    moved = datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
    past_month = int((next_month + timedelta(minutes=6) - moved).total_seconds())
    call("PUT", f"{base}/local/clock", {"offsetSeconds": clock["offsetSeconds"] + max(past_month, 0)})
    month = local.strftime("%Y-%m")
    status, report = call("GET", f"{base}/mds/reports/{month}.csv", token=token, accept=MDS_CSV_TYPE)
    if status != 200:
        problems.append(f"GET /mds/reports/{month}.csv: {status} {report}")
    else:
        problems += [f"GET /mds/reports/{month}.csv: {line}" for line in check("/reports/{filename}", "200", report)]

    vehicles = answers["/mds/vehicles"].get("vehicles", []) if isinstance(answers["/mds/vehicles"], dict) else []
    for vehicle in vehicles[:3]:
        for operation, path in (("/vehicles/{device_id}", "/mds/vehicles/"), ("/vehicles/status/{device_id}", "/mds/vehicles/status/")):
            status, body = call("GET", f"{base}{path}{vehicle['device_id']}", token=token)
            problems += [f"GET {path}…: {line}" for line in check(operation, str(status), body)]
    if trips == 0:
        problems.append(f"no trip in {hours}: the demo's rides should be there")
    if not vehicles:
        problems.append("no vehicle in /mds/vehicles: the demo registers boards")
    for line in problems:
        print(line)
    counted = f", the {month} report" if status == 200 else ""
    print(f"MDS after the demo: {trips} trips, {len(vehicles)} vehicles in {hours}{counted}; " + ("INVALID" if problems else "all documents valid"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
