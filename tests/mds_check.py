"""Checks bodies an MDS 2.0 Provider API answers: exits 0 when all are valid, else prints each problem and exits 1.

Usage: .venv/bin/python tests/mds_check.py OPERATION STATUS FILE   (FILE "-" reads stdin)
       .venv/bin/python tests/mds_check.py --batch FILE.json
OPERATION is a path of provider.yaml (`/trips`, `/vehicles/{device_id}`, `/events/recent`, …); FILE.json is
a JSON array of {"operation": "/trips", "status": 200, "body": …}. A text/csv answer (`/reports/{filename}`)
is checked as a string: FILE is then the CSV itself, or `body` a JSON string.

Each body is checked in two layers:
1. against the response schema that the Open Mobility Foundation's OpenAPI (tests/standards/mds-2.0,
   vendored; reference/provider.yaml and models/) gives for that operation and status, with `jsonschema`
   (Draft 2020-12) and `referencing`, every YAML file a resource under its file:// URI so that the
   relative `$ref`s resolve. Two quirks of the published models are corrected in memory at load time
   (the vendored files stay as published):
   (1) vehicle.yaml, event.yaml and trip.yaml pick the mode with a `oneOf` over the four modes' schemas;
       a micromobility vehicle or event is valid under all four, so a valid one fails that `oneOf` (a trip
       without trip_type matches micromobility only, but one with trip_type ["delivery"] delivery-robots only).
       This provider is micromobility: the `oneOf` is replaced with a `$ref` to the modes/micromobility/ branch.
   (2) each modes/*/event.yaml writes `if: {properties: {event_types: {contains: [trip_start, …]}}}`; a
       list is no schema (jsonschema crashes on it): it is read as `contains: {enum: [trip_start, …]}`.
2. what the schemas do not say: `version` is 2.0.x (version.yaml allows any 2.x.y); unique trip_id
   (/trips), event_id (/events/*) and telemetry_id (/telemetry); per trip, no trip_start after that
   trip's trip_end; and trip_ids on trip events, which MDS requires ("required if event_types contains
   trip_start, trip_end, trip_cancel, trip_enter_jurisdiction, or trip_leave_jurisdiction") while the
   models' `then` only gives it a minItems when present. A report (CSV): its columns, months, groups and
   vehicle types, and every count either -1 or 10 and more (MDS redacts counts under 10).
"""

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

import yaml
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parent / "standards" / "mds-2.0"
PROVIDER = SPEC / "reference" / "provider.yaml"
MODE = "micromobility"
VERSION = re.compile(r"^2\.0\.(\d|[1-9]\d+)$")
EVENT_LISTS = {"/events/historical": "events", "/events/recent": "events"}
STATUS_LISTS = {"/vehicles/status": "vehicles_status", "/vehicles/status/{device_id}": "vehicles_status"}


def correct(name: str, schema: dict) -> None:
    """The in-memory corrections of the published models (see the module docstring)."""
    if name in ("vehicle.yaml", "event.yaml", "trip.yaml"):
        # (1) A micromobility vehicle or event matches every mode's schema, so the mode `oneOf` always fails.
        [by_mode] = [part for part in schema["allOf"] if "oneOf" in part]
        [ours] = [b["$ref"] for b in by_mode["oneOf"] if b["$ref"].startswith(f"./modes/{MODE}/")]
        by_mode.clear()
        by_mode["$ref"] = ours
    if re.fullmatch(r"modes/[^/]+/event\.yaml", name):
        # (2) `contains` takes a schema; the models give the list of trip event types instead.
        event_types = schema["if"]["properties"]["event_types"]
        if isinstance(event_types["contains"], list):
            event_types["contains"] = {"enum": event_types["contains"]}


def load() -> tuple[dict, Registry, list[str]]:
    """provider.yaml, the registry of every file of the spec, and the event types that need trip_ids."""
    provider = yaml.safe_load(PROVIDER.read_text())
    resources, models = [(PROVIDER.as_uri(), DRAFT202012.create_resource(provider))], {}
    for path in sorted((SPEC / "models").rglob("*.yaml")):
        name = path.relative_to(SPEC / "models").as_posix()
        models[name] = yaml.safe_load(path.read_text())
        correct(name, models[name])
        resources.append((path.as_uri(), DRAFT202012.create_resource(models[name])))
    trip_events = models[f"modes/{MODE}/event.yaml"]["if"]["properties"]["event_types"]["contains"]["enum"]
    return provider, Registry().with_resources(resources), trip_events


PROVIDER_DOC, REGISTRY, TRIP_EVENTS = load()


def body_schema(operation: str, status: str) -> tuple[str | None, str]:
    """(media type, JSON pointer into provider.yaml) of the body's schema; (None, why) when there is none."""
    responses = PROVIDER_DOC["paths"].get(operation, {}).get("get", {}).get("responses")
    if responses is None:
        return None, f"provider.yaml has no GET {operation}"
    content = (responses.get(status) or {}).get("content")
    if status not in responses or not content:
        return None, f"provider.yaml specifies no body for GET {operation} {status}"
    media = "application/json" if "application/json" in content else next(iter(content))
    parts = ("paths", operation, "get", "responses", status, "content", media, "schema")
    return media, "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def schema_problems(pointer: str, body: object) -> list[str]:
    ref = PROVIDER.as_uri() + "#" + quote(pointer, safe="/~")
    formats = Draft202012Validator.FORMAT_CHECKER
    validator = Draft202012Validator({"$ref": ref}, registry=REGISTRY, format_checker=formats)
    found = []
    for error in sorted(validator.iter_errors(body), key=lambda e: e.json_path):
        found.append(f"{error.json_path}: {describe(error)}")
        # When no branch of a oneOf or anyOf matched, why each failed; but not the branches a `const` rules
        # out (a micromobility event's branches for the other vehicle_states).
        ruled_out = {e.relative_schema_path[0] for e in error.context if e.validator == "const"}
        meant = [e for e in error.context if e.relative_schema_path[0] not in ruled_out]
        found += [f"  {e.json_path}: {describe(e)}" for e in meant]
    return found


def describe(error: ValidationError) -> str:
    if error.validator in ("oneOf", "anyOf"):  # its message would print the whole instance
        return f"matches no branch of its {error.validator}" if error.context else "matches more than one branch of its oneOf"
    return error.message if len(error.message) < 200 else error.message[:200] + "…"


def listed(doc: object, key: str) -> list[tuple[str, dict]]:
    """The objects of doc[key] with their JSON paths; [] when malformed (the schema says so)."""
    items = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return []
    return [(f"$.{key}[{i}]", item) for i, item in enumerate(items) if isinstance(item, dict)]


def unique(items: list[tuple[str, dict]], key: str) -> list[str]:
    first, found = {}, []
    for path, item in items:
        value = item.get(key)
        if isinstance(value, str) and value in first:
            found.append(f"{path}.{key}: {value!r} already at {first[value]}")
        first.setdefault(value, path)
    return found


def event_problems(events: list[tuple[str, dict]]) -> list[str]:
    """trip_ids on every trip event; per trip, no trip_start later than a trip_end."""
    found, starts, ends = [], [], {}
    for path, event in events:
        types, trips, when = event.get("event_types"), event.get("trip_ids"), event.get("timestamp")
        types = [t for t in types if isinstance(t, str)] if isinstance(types, list) else []
        trips = [t for t in trips if isinstance(t, str)] if isinstance(trips, list) else []
        if set(types) & set(TRIP_EVENTS) and "trip_ids" not in event:  # (an empty list is the schema's)
            found.append(f"{path}: event_types {types} need trip_ids, and there are none")
        if not isinstance(when, (int, float)):
            continue
        for trip in trips:
            if "trip_start" in types:
                starts.append((trip, when, path))
            if "trip_end" in types:
                ends.setdefault(trip, []).append((when, path))
    for trip, when, path in starts:
        for end, end_path in ends.get(trip, []):
            if when > end:
                found.append(f"{path}: trip_start of trip {trip} at {when}, after its trip_end at {end} ({end_path})")
    return found


REPORT_COLUMNS = "provider_id,start_date,duration,special_group_type,geography_id,vehicle_type,trip_count,rider_count".split(",")
SPECIAL_GROUPS = {"low_income", "adaptive_scooter", "all_riders"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VEHICLE_TYPES = set(yaml.safe_load((SPEC / "models" / "data-types" / "vehicle-type.yaml").read_text())["enum"])


def report_problems(text: str) -> list[str]:
    """A report's rows (data-types.md, Reports): its columns in order, a month's first day and P1M, known special
    groups and vehicle types, and counts redacted under 10 (k-anonymity: -1, never 0 to 9)."""
    lines = text.splitlines()
    if not lines or lines[0].split(",") != REPORT_COLUMNS:
        return [f"line 1: the header is not {','.join(REPORT_COLUMNS)}"]
    found = []
    for number, line in enumerate(lines[1:], start=2):
        row = dict(zip(REPORT_COLUMNS, line.split(",")))
        if len(line.split(",")) != len(REPORT_COLUMNS):
            found.append(f"line {number}: {len(line.split(','))} fields, not {len(REPORT_COLUMNS)}")
            continue
        if not UUID.match(row["provider_id"]):
            found.append(f"line {number}: provider_id {row['provider_id']!r} is not a UUID")
        if not re.fullmatch(r"\d{4}-\d{2}-01", row["start_date"]) or row["duration"] != "P1M":
            found.append(f"line {number}: a month is its first day and P1M, not {row['start_date']} {row['duration']}")
        if row["special_group_type"] not in SPECIAL_GROUPS:
            found.append(f"line {number}: special_group_type {row['special_group_type']!r} is not one of {sorted(SPECIAL_GROUPS)}")
        if row["geography_id"] and not UUID.match(row["geography_id"]):
            found.append(f"line {number}: geography_id {row['geography_id']!r} is neither a UUID nor empty (null)")
        if row["vehicle_type"] not in VEHICLE_TYPES:
            found.append(f"line {number}: vehicle_type {row['vehicle_type']!r} is no MDS vehicle type")
        for count in ("trip_count", "rider_count"):
            value = row[count]
            if not re.fullmatch(r"-1|\d+", value) or 0 <= int(value) < 10:
                found.append(f"line {number}: {count} {value!r} is neither -1 nor a count of 10 or more")
    keys = [tuple(line.split(",")[i] for i in (1, 3, 4, 5)) for line in lines[1:]]
    if len(keys) != len(set(keys)):
        found.append("a month, special group, geography and vehicle type appear on more than one row")
    return found


def check(operation: str, status: str, body: object) -> list[str]:
    media, pointer = body_schema(operation, status)
    if media is None:
        return [pointer]
    if media != "application/json" and not isinstance(body, str):
        return [f"a {media} body is checked as a string, not {type(body).__name__}"]
    found = schema_problems(pointer, body)
    if operation == "/reports/{filename}" and isinstance(body, str):
        found += report_problems(body)
    version = body.get("version") if isinstance(body, dict) else None
    if isinstance(version, str) and not VERSION.match(version):
        found.append(f"$.version: {version!r} is not an MDS 2.0.x version")
    if operation == "/trips":
        found += unique(listed(body, "trips"), "trip_id")
    if operation == "/telemetry":
        found += unique(listed(body, "telemetry"), "telemetry_id")
    if operation in EVENT_LISTS:
        events = listed(body, EVENT_LISTS[operation])
        found += unique(events, "event_id") + event_problems(events)
    if operation in STATUS_LISTS:
        statuses = listed(body, STATUS_LISTS[operation])
        last = [(f"{path}.last_event", s["last_event"]) for path, s in statuses if isinstance(s.get("last_event"), dict)]
        found += event_problems(last)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operation", nargs="?", help="a path of provider.yaml, e.g. /trips")
    parser.add_argument("status", nargs="?", help="the HTTP status, e.g. 200")
    parser.add_argument("file", nargs="?", help="the response body, or - for stdin")
    parser.add_argument("--batch", metavar="FILE.json", help='a JSON array of {"operation", "status", "body"}')
    args = parser.parse_args()

    documents = []  # (operation, status, body or None, problem reading it)
    if args.batch:
        if args.operation:
            parser.error("--batch takes no OPERATION STATUS FILE")
        for entry in json.loads(Path(args.batch).read_text()):
            documents.append((entry.get("operation"), str(entry.get("status")), entry.get("body"), None))
    elif args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        body, unreadable = text, None
        if body_schema(args.operation, args.status)[0] in (None, "application/json"):
            try:
                body = json.loads(text)
            except ValueError as err:
                unreadable = f"not JSON: {err}"
        documents.append((args.operation, args.status, body, unreadable))
    else:
        parser.error("give OPERATION STATUS FILE, or --batch FILE.json")

    invalid = 0
    for operation, status, body, unreadable in documents:
        found = [unreadable] if unreadable else check(operation, status, body)
        invalid += bool(found)
        for line in found:
            print(f"GET {operation} {status}: {line}")
    valid = len(documents) - invalid
    print(f"{valid} of {len(documents)} documents valid" if invalid else f"{valid} document{'s' * (valid != 1)} valid")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
