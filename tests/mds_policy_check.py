"""Checks MDS 2.0 Policy and Geography documents against the Open Mobility Foundation's models
(tests/standards/mds-2.0/models/policy.yaml and geography.yaml, with the registry tests/mds_check.py
builds of every model file): exits 0 when each document is valid or not as expected, else prints
each surprise and exits 1.

Usage: .venv/bin/python tests/mds_policy_check.py FILE.json
FILE.json is a JSON array of {"model": "policy" | "geography", "valid": true | false, "document": …}: the
documents Kickboard kept (valid) and those it refused for what a schema can say (not valid), so that
what the import accepts and refuses is held to the published models, not only to its own reading.
"""

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mds_check import REGISTRY, SPEC, describe  # noqa: E402

MODELS = {"policy": SPEC / "models" / "policy.yaml", "geography": SPEC / "models" / "geography.yaml"}


def problems(model: str, document: object) -> list[str]:
    validator = Draft202012Validator({"$ref": MODELS[model].as_uri()}, registry=REGISTRY,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{error.json_path}: {describe(error)}" for error in validator.iter_errors(document)]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    surprises = []
    for index, case in enumerate(json.loads(Path(sys.argv[1]).read_text())):
        found = problems(case["model"], case["document"])
        if case["valid"] and found:
            surprises.append(f"[{index}] a {case['model']} kept as valid is not: " + "; ".join(found[:5]))
        if not case["valid"] and not found:
            surprises.append(f"[{index}] a {case['model']} refused is valid under the model")
    for surprise in surprises:
        print(surprise)
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())
