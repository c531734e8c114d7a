"""Event matching speed: s3batch's compiled matcher against moto's, measured in the same run.

100 rules mixing exact, prefix, numeric, anything-but and exists patterns, against 10,000
S3/CloudTrail-shaped events. s3batch compiles all rules into one matcher and finds every
matching rule in one pass per event; moto (the baseline) tests each rule in turn, as its
server does. Both must agree on every match count (checked).

    python benchmarks/event_match.py [--rules 100] [--events 10000]

Target (issue "Step 4"): >= 60x moto.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from moto.events.models import EventPattern

from s3batch.events.matcher import Matcher
from s3batch.events.patterns import parse

NAMES = ["PutObject", "CompleteMultipartUpload", "CopyObject", "DeleteObject", "GetObject"]
BUCKETS = [f"bucket-{i}" for i in range(20)]


def make_rule(i: int, rng: random.Random) -> dict[str, object]:
    """One rule; the operator mix cycles exact / prefix / numeric / anything-but / exists."""
    bucket = rng.choice(BUCKETS)
    detail: dict[str, object] = {"requestParameters": {"bucketName": [bucket]}}
    kind = i % 5
    if kind == 0:
        detail["eventName"] = rng.sample(NAMES, 2)
    elif kind == 1:
        detail["requestParameters"] = {"bucketName": [bucket], "key": [{"prefix": f"in/{rng.randint(0, 9)}"}]}
    elif kind == 2:
        detail["additionalEventData"] = {"bytesTransferredIn": [{"numeric": [">=", rng.randint(0, 5000)]}]}
    elif kind == 3:
        detail["eventName"] = [{"anything-but": rng.choice(NAMES)}]
    else:
        detail["responseElements"] = {"x-amz-version-id": [{"exists": rng.random() < 0.5}]}
    return {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"], "detail": detail}


def make_event(rng: random.Random) -> dict[str, object]:
    """A CloudTrail-shaped S3 data event."""
    response = {"x-amz-version-id": "v1"} if rng.random() < 0.5 else {}
    return {
        "version": "0", "id": str(rng.random()), "source": "aws.s3", "detail-type": "AWS API Call via CloudTrail",
        "account": "000000000000", "time": "2026-11-28T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "eventSource": "s3.amazonaws.com", "eventName": rng.choice(NAMES),
            "requestParameters": {"bucketName": rng.choice(BUCKETS), "key": f"in/{rng.randint(0, 99)}/f.csv"},
            "additionalEventData": {"bytesTransferredIn": rng.randint(0, 10000)},
            "responseElements": response,
        },
    }


def main() -> None:
    """Time both matchers on the same rules and events and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(7)
    rules = [make_rule(i, rng) for i in range(args.rules)]
    events = [make_event(rng) for _ in range(args.events)]

    matcher = Matcher()
    for i, rule in enumerate(rules):
        matcher.add(str(i), parse(rule))
    t = time.perf_counter()
    ours = sum(len(matcher.matches(e)) for e in events)
    ours_rate = len(events) / (time.perf_counter() - t)

    moto_rules = [EventPattern.load(json.dumps(r)) for r in rules]
    t = time.perf_counter()
    theirs = sum(sum(1 for p in moto_rules if p.matches_event(e)) for e in events)
    moto_rate = len(events) / (time.perf_counter() - t)

    if ours != theirs:
        raise SystemExit(f"the matchers disagree: s3batch found {ours} matches, moto {theirs}")
    print(f"{args.rules} rules x {args.events} events, {ours} matches (both agree)")
    print(f"{'matcher':<12}{'events/s':>12}")
    print(f"{'s3batch':<12}{ours_rate:>12.0f}")
    print(f"{'moto':<12}{moto_rate:>12.0f}")
    print(f"ratio {ours_rate / moto_rate:.1f}x   (target >= 60x moto)")


if __name__ == "__main__":
    main()
