"""moto's server, handling one request at a time.

`moto_server` serves requests on many threads, and moto's in-memory backends are not
thread-safe: under a burst of concurrent DynamoDB transactions it answers some with HTML
500 pages. Real DynamoDB serialises conflicting transactions, so for the contract tests moto
runs every request under one lock. Connections stay threaded (keep-alive works).

moto also rolls a cancelled transaction back by restoring deep copies of every table it
touches, taken before each of its items: seconds per transaction once a table holds a city's
ten thousand boards, and the stream keeps the cancelled writes in a shard the restored copy
no longer has. Here only the items a transaction touches are copied, and a cancellation puts
them back and drops what it streamed, as DynamoDB (which streams nothing for it) would. And
moto sorts a whole table by its key objects for every query; here by their plain values.

And it plays IAM (iam_check.py): once the test harness names a deployment's resources
(`POST /kickboard-iam/deployment`), every request a function signed (its access key id is the
function's name) is checked against the role template.yaml gives that function, as SAM will
deploy it, and answered `AccessDenied` as AWS would when no statement allows it. What was
denied and which grants were used: `GET /kickboard-iam/journal`.

Usage: python moto_server.py HOST PORT
Environment: KICKBOARD_IAM_TEMPLATE (default: the repository's template.yaml);
KICKBOARD_IAM_REMOVE, `function=action` pairs separated by commas, taken out of the roles (to
show that the check bites); KICKBOARD_IAM_USAGE_DIR, where the grants used are written.
"""

import copy
import io
import json
import os
import sys
import threading

import iam_check

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


class _TablesNotCopied:
    """`copy` for moto's DynamoDB module: tables are not deep-copied (their touched items are)."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_keys(backend, transact_items):
    """(table, hash, range) of every item a transaction writes or checks."""
    for entry in transact_items:
        op_type, op = next(iter(entry.items()))
        table = backend.get_table(op["TableName"])
        key = op["Item"] if op_type == "Put" else op["Key"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        yield table, hash_key, range_key


def _put_back(table, hash_key, range_key, item):
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
    elif item is None:
        table.items[hash_key].pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    try:
        touched = [(t, h, r, copy.deepcopy(t.get_item(h, r))) for t, h, r in _item_keys(self, transact_items)]
    except Exception:
        touched = []  # a malformed request: moto refuses it before writing anything
    streamed = {id(t): (t, len(t.stream_shard.items)) for t, _, _, _ in touched if t.stream_shard is not None}
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table, hash_key, range_key, item in reversed(touched):
            _put_back(table, hash_key, range_key, item)
        for table, length in streamed.values():
            del table.stream_shard.items[length:]
        raise


def all_items(self):
    """moto's `Table.all_items`, sorted by the keys' plain values: it sorts the whole table for
    every query and scan, and comparing its key objects made that seconds at a city's size."""
    if self.range_key_attr:
        items = [item for hash_set in self.items.values() for item in hash_set.values()]
    else:
        items = list(self.items.values())
    return sorted(items, key=lambda item: (item.hash_key.cast_value, item.range_key.cast_value if item.range_key else ""))


dynamodb_models.copy = _TablesNotCopied
DynamoDBBackend.transact_write_items = transact_write_items
Table.all_items = all_items


def _iam_checker():
    here = os.path.dirname(os.path.abspath(__file__))
    template = os.environ.get("KICKBOARD_IAM_TEMPLATE") or os.path.join(here, "..", "template.yaml")
    pairs = [pair.split("=", 1) for pair in os.environ.get("KICKBOARD_IAM_REMOVE", "").split(",") if pair]
    usage_dir = os.environ.get("KICKBOARD_IAM_USAGE_DIR") or None
    if usage_dir:
        os.makedirs(usage_dir, exist_ok=True)
    # The roles are translated on the first deployment: a run that names none checks nothing.
    return lambda: iam_check.Checker(iam_check.roles_for(template, tuple(map(tuple, pairs))), usage_dir)


def _answer(start_response, status, content_type, body):
    reasons = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}
    start_response(f"{status} {reasons[status]}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    backends = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()
    make_checker = _iam_checker()
    checker = None

    def serialised(environ, start_response):
        nonlocal checker
        with lock:
            path = environ.get("PATH_INFO", "")
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            if path == "/kickboard-iam/deployment":
                named = json.loads(body)
                checker = checker or make_checker()
                checker.add_deployment(named["region"], named)
                return _answer(start_response, 200, "application/json", b"{}")
            if path == "/kickboard-iam/journal":
                journal = checker.journal() if checker else {"denied": [], "used": []}
                return _answer(start_response, 200, "application/json", json.dumps(journal).encode())
            if checker is not None:
                headers = {"Authorization": environ.get("HTTP_AUTHORIZATION", ""), "X-Amz-Target": environ.get("HTTP_X_AMZ_TARGET", "")}
                request = iam_check.parse(headers, body, path)
                denied = checker.check(request) if request else None
                if denied:
                    return _answer(start_response, *iam_check.denial(request, *denied))
            # Materialise the body under the lock: nothing of moto runs outside it.
            return list(backends(environ, start_response))

    run_simple(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
