"""Times moto at a city's size, with and without the harness's fixes (tests/moto_server.py).

Usage: .venv/bin/python tests/moto_harness_bench.py [--plain] [--items N]

Loads N board-like items (10,000 by default) into a table with a stream and an index, then
times a 2-item TransactWriteItems and a Query on the index. --plain runs moto as published,
in process; without it, the harness server.
"""

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

TABLE = {
    "TableName": "t",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "cell", "at")
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "available",
            "KeySchema": [{"AttributeName": "cell", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}


def measure(client, items):
    client.create_table(**TABLE)
    for first in range(0, items, 25):
        batch = [
            {"PutRequest": {"Item": {"pk": {"S": f"BOARD#{i}"}, "sk": {"S": "BOARD"}, "cell": {"S": f"c{i % 170}"},
                                     "at": {"S": f"x#{i}"}}}}
            for i in range(first, min(first + 25, items))
        ]
        client.batch_write_item(RequestItems={"t": batch})
    started = time.perf_counter()
    for k in range(5):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": f"EVENT#{k}"}, "sk": {"S": "EVENT"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "BOARD#1"}, "sk": {"S": "BOARD"}},
                        "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"N": str(k)}}}},
        ])
    transaction = (time.perf_counter() - started) / 5
    started = time.perf_counter()
    for k in range(5):
        client.query(TableName="t", IndexName="available", KeyConditionExpression="cell = :c",
                     ExpressionAttributeValues={":c": {"S": f"c{k}"}})
    query = (time.perf_counter() - started) / 5
    print(f"{items} items: TransactWriteItems {transaction * 1000:.1f} ms, index Query {query * 1000:.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    credentials = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    if args.plain:
        from moto import mock_aws

        with mock_aws():
            measure(boto3.client("dynamodb", **credentials), args.items)
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    harness = Path(__file__).with_name("moto_server.py")
    server = subprocess.Popen([sys.executable, str(harness), "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.1)
        measure(boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", **credentials), args.items)
    finally:
        server.kill()


if __name__ == "__main__":
    main()
