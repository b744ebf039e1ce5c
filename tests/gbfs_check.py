"""Checks a served GBFS v3.0 feed: exits 0 when it is valid, else prints each problem and exits 1.

Usage: .venv/bin/python tests/gbfs_check.py http://127.0.0.1:PORT/gbfs/v3/gbfs.json [--expect-vehicles N]

It fetches the discovery file and every feed it lists, then checks them in three layers,
since none of them is enough alone:
1. each file against MobilityData's official v3.0 JSON schema (the copies gbfs-validator
   bundles), with `jsonschema`: gbfs-validator's own engine is a from-scratch port of AJV
   that, like AJV's formats, takes a date-time without a UTC offset;
2. gbfs-validator's report, which adds the cross-file rules of MobilityData's validator
   (`vehicle_type_id` and a motorized type's `current_range_meters` required on vehicles,
   `default_pricing_plan_id` among the published plans, required files present);
3. what neither checks: references between files, unique ids, translations for every
   language, the HTTP headers, and how fresh each file is.
"""

import argparse
import gzip
import json
import re
import sys
import time
from datetime import datetime
from importlib.resources import files
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import jsonschema
from gbfs_validator import GBFS
from gbfs_validator.fetch import Fetcher

VERSION = "3.0"
SCHEMAS = files("gbfs_validator") / "data" / "schemas" / f"v{VERSION}"
SLACK_SECONDS = 2  # clock and latency allowance for last_updated

problems: list[str] = []
# The server's clock minus ours, for a server on a test's manual clock (`--server-now`).
clock_offset = 0.0


def problem(where: str, what: str) -> None:
    problems.append(f"{where}: {what}")


def fetch(name: str, url: str) -> dict | None:
    """GETs one file and checks what the HTTP answer says about it; None when unusable."""
    try:
        # As trip planners ask for it: gzip accepted, so the gzipped answers are the ones checked.
        asking = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        with urlopen(Request(url, headers=asking), timeout=10) as response:
            body, headers = response.read(), response.headers
    except HTTPError as err:
        problem(name, f"GET {url} answered HTTP {err.code}")
        return None
    except (URLError, OSError) as err:
        problem(name, f"GET {url} failed: {err}")
        return None
    fetched_at = time.time() + clock_offset
    coding = headers.get("Content-Encoding", "identity")
    if coding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as err:
            problem(name, f"Content-Encoding is gzip, but the body is not: {err}")
            return None
    elif coding != "identity":
        problem(name, f"Content-Encoding {coding!r} was not asked for")
        return None
    if "accept-encoding" not in headers.get("Vary", "").lower():
        problem(name, "no Vary: Accept-Encoding, so a cache could give gzip to a client that cannot decode it")
    if headers.get_content_type() != "application/json":
        problem(name, f"Content-Type is {headers.get('Content-Type')!r}, not application/json")
    try:
        doc = json.loads(body)
    except ValueError as err:
        problem(name, f"not JSON: {err}")
        return None
    if not isinstance(doc, dict):
        problem(name, "the document is not a JSON object")
        return None
    check_header_fields(name, doc, headers.get("Cache-Control"), fetched_at)
    return doc


def check_header_fields(name: str, doc: dict, cache_control: str | None, fetched_at: float) -> None:
    """ttl and last_updated against the Cache-Control header and the clock. (Their format, and
    `version` being "3.0", are the schema's: every v3.0 schema has `"version": {"const": "3.0"}`.)"""
    ttl = doc.get("ttl")
    if type(ttl) is not int or ttl < 0:
        return
    last_updated = doc.get("last_updated")
    try:
        # Every RFC 3339 date-time reads so (it allows a lowercase t and z); what does not is
        # no RFC 3339 date-time, and the schema check reports it.
        when = datetime.fromisoformat(last_updated.upper())
    except (AttributeError, ValueError):
        return
    if when.tzinfo is None:
        return
    age = fetched_at - when.timestamp()
    if age > ttl + SLACK_SECONDS:
        problem(name, f"stale: last_updated {last_updated} is {age:.0f} s old, its ttl {ttl} s")
    elif age < -SLACK_SECONDS:
        problem(name, f"last_updated {last_updated} is {-age:.0f} s in the future")
    # The data is fresh until last_updated + ttl: a consumer (or a CDN) may keep the answer for
    # what is left of that, and no longer.
    max_age = max_age_of(cache_control)
    left = max(0, ttl - age)
    if max_age is None:
        problem(name, f"Cache-Control {cache_control!r} has no max-age (ttl is {ttl})")
    elif max_age > left + SLACK_SECONDS or max_age < left - SLACK_SECONDS:
        problem(name, f"Cache-Control max-age={max_age}, but {left:.0f} s of its ttl {ttl} s are left")


def max_age_of(cache_control: str | None) -> int | None:
    for directive in (cache_control or "").split(","):
        key, _, value = directive.strip().partition("=")
        if key.lower() == "max-age" and value.strip().isdigit():
            return int(value)
    return None


def check_schema(name: str, doc: dict, reported: set) -> None:
    path = SCHEMAS / f"{name}.json"
    if not path.is_file():
        problem(name, f"no GBFS v{VERSION} file has this name")
        return
    schema = json.loads(path.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    # Noted per (file, JSON pointer, keyword, missing property), so that gbfs-validator's
    # report of the same fault is not printed again.
    for error in sorted(validator.iter_errors(doc), key=lambda e: e.json_path):
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        missing = re.match(r"'(.*)' is a required property$", error.message)
        reported.add((name, pointer, error.validator, missing and missing[1]))
        message = error.message if len(error.message) < 200 else error.message[:200] + "…"
        problem(name, f"{pointer or '/'}: {message} (schema)")


class Snapshot(Fetcher):
    """Hands gbfs-validator the bodies fetched here, so both layers judge one snapshot."""

    def __init__(self, bodies: dict[str, dict]) -> None:
        super().__init__()
        self.bodies = bodies

    def get_json(self, url: str) -> object:
        return self.bodies[url] if url in self.bodies else super().get_json(url)


def check_with_gbfs_validator(url: str, bodies: dict[str, dict], reported: set) -> None:
    try:
        report = GBFS(url, freefloating=True, version=VERSION, fetcher=Snapshot(bodies)).validation()
    except Exception as err:  # it stops on feeds malformed enough, as MobilityData's does
        problem("gbfs-validator", f"could not validate the feed: {err!r}")
        return
    for entry in report["files"]:
        name = entry["file"].removesuffix(".json")
        if entry.get("required") and not entry.get("exists"):
            problem(name, "a required file, but the feed does not serve it (gbfs-validator)")
        errors = entry.get("errors") or []
        for language in entry.get("languages", []):
            errors += language.get("errors") or []
        for error in errors:
            missing = error["params"].get("missingProperty")
            if (name, error["instancePath"], error["keyword"], missing) in reported:
                continue  # the schema check said it already
            problem(name, f"{error['instancePath'] or '/'}: {error['message']} (gbfs-validator)")


# The checks below read documents the schema may have rejected: they skip what is malformed.
def data_of(docs: dict, name: str, key: str) -> object:
    data = (docs.get(name) or {}).get("data")
    return data.get(key) if isinstance(data, dict) else None


def listed(docs: dict, name: str, key: str) -> list[dict]:
    """The objects in data[key] of one file; [] when the file or the list is missing."""
    items = data_of(docs, name, key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def ids(items: list[dict], key: str) -> set[str]:
    return {item[key] for item in items if isinstance(item.get(key), str)}


def check_unique(name: str, items: list[dict], key: str) -> None:
    seen = set()
    for item in items:
        value = item.get(key)
        if value in seen:
            problem(name, f"{key} {value!r} appears more than once")
        if isinstance(value, str):
            seen.add(value)


def check_references(docs: dict, reported: set) -> None:
    """The rules between files that gbfs-validator does not check for v3.0."""
    types = listed(docs, "vehicle_types", "vehicle_types")
    plans = listed(docs, "system_pricing_plans", "plans")
    vehicles = listed(docs, "vehicle_status", "vehicles")
    check_unique("vehicle_types", types, "vehicle_type_id")
    check_unique("system_pricing_plans", plans, "plan_id")
    check_unique("vehicle_status", vehicles, "vehicle_id")

    type_ids = ids(types, "vehicle_type_id")
    for i, vehicle in enumerate(vehicles):
        type_id = vehicle.get("vehicle_type_id")
        if isinstance(type_id, str) and type_id not in type_ids:
            problem("vehicle_status", f"/data/vehicles/{i}/vehicle_type_id: {type_id!r} is not in vehicle_types")

    # Every plan referenced must be published; the exact field is named, since
    # gbfs-validator only says "must be equal to one of the allowed values" of the default.
    references = [
        ("vehicle_status", f"/data/vehicles/{i}/pricing_plan_id", vehicle.get("pricing_plan_id"))
        for i, vehicle in enumerate(vehicles)
    ]
    for i, kind in enumerate(types):
        at = f"/data/vehicle_types/{i}"
        references.append(("vehicle_types", f"{at}/default_pricing_plan_id", kind.get("default_pricing_plan_id")))
        plan_list = kind.get("pricing_plan_ids")
        if isinstance(plan_list, list):
            references += [("vehicle_types", f"{at}/pricing_plan_ids/{j}", p) for j, p in enumerate(plan_list)]
        # GBFS 3.0: "REQUIRED if system_pricing_plans.json is defined".
        if "system_pricing_plans" in docs and "default_pricing_plan_id" not in kind:
            problem("vehicle_types", f"{at}: default_pricing_plan_id is required when pricing plans are published")
    plan_ids = ids(plans, "plan_id")
    for name, pointer, plan_id in references:
        if isinstance(plan_id, str) and plan_id not in plan_ids:
            problem(name, f"{pointer}: {plan_id!r} is not a plan_id of system_pricing_plans")
            reported.add((name, pointer, "enum", None))


def check_translations(docs: dict) -> None:
    """GBFS 3.0: every localized string has a translation in each of system_information's
    languages, and in no other."""
    languages = data_of(docs, "system_information", "languages")
    if not isinstance(languages, list):
        return

    def walk(name: str, value: object, pointer: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(name, item, f"{pointer}/{key}")
        elif isinstance(value, list):
            if value and all(isinstance(v, dict) and {"text", "language"} <= v.keys() for v in value):
                given = [v["language"] for v in value]
                if sorted(given, key=str) != sorted(languages, key=str):
                    problem(name, f"{pointer}: translated to {given}, but the feed's languages are {languages}")
            for i, item in enumerate(value):
                walk(name, item, f"{pointer}/{i}")

    for name, doc in docs.items():
        walk(name, doc, "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="URL of the feed's gbfs.json")
    parser.add_argument("--expect-vehicles", type=int, metavar="N", help="vehicle_status lists N vehicles")
    parser.add_argument("--server-now", metavar="RFC3339", help="what the server's clock reads now, if not ours")
    args = parser.parse_args()
    if args.server_now:
        global clock_offset
        clock_offset = datetime.fromisoformat(args.server_now.upper()).timestamp() - time.time()

    discovery = fetch("gbfs", args.url)
    docs, bodies = {}, {}
    if discovery is not None:
        docs["gbfs"], bodies[args.url] = discovery, discovery
        for feed in listed(docs, "gbfs", "feeds"):
            name, url = feed.get("name"), feed.get("url")
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                problem("gbfs", f"feed {name!r} has URL {url!r}, not an absolute http(s) URL")
                continue
            doc = fetch(name, url)
            if doc is not None:
                docs[name], bodies[url] = doc, doc

    reported: set = set()
    for name, doc in docs.items():
        check_schema(name, doc, reported)
    check_references(docs, reported)
    check_translations(docs)
    if discovery is not None:
        check_with_gbfs_validator(args.url, bodies, reported)
    vehicles = listed(docs, "vehicle_status", "vehicles")
    if args.expect_vehicles is not None and len(vehicles) != args.expect_vehicles:
        problem("vehicle_status", f"{len(vehicles)} vehicles, expected {args.expect_vehicles}")

    for line in problems:
        print(line)
    if problems:
        print(f"GBFS feed at {args.url}: {len(problems)} problem(s)")
        return 1
    print(f"GBFS feed at {args.url}: valid ({', '.join(docs)}; {len(vehicles)} vehicles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
