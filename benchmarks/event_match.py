"""Event matching speed: s3batch's compiled matcher against moto's, measured in the same run.

100 rules mixing exact, prefix, numeric, anything-but and exists patterns, against 10,000
S3/CloudTrail-shaped events. Both matchers take the same parsed event dicts and return
the rules each event matches: s3batch compiles all rules into one matcher and finds them
in one pass per event; moto (the baseline) tests each rule in turn, as its server does.
Both must find the same rules for every event (checked; the run fails otherwise).

    python benchmarks/event_match.py [--rules 100] [--events 10000] [--rounds 3]

The rounds alternate the two matchers, and each one's best round counts, so that a burst
of other load on a shared machine does not decide the ratio.

Target (issue "Step 4"): >= 60x moto.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import TypeVar

from moto.events.models import EventPattern

from s3batch.events.matcher import Matcher
from s3batch.events.patterns import parse

T = TypeVar("T")
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
        detail["requestParameters"] = {
            "bucketName": [bucket],
            "key": [{"prefix": f"in/{rng.randint(0, 9)}"}],
        }
    elif kind == 2:
        detail["additionalEventData"] = {
            "bytesTransferredIn": [{"numeric": [">=", rng.randint(0, 5000)]}]
        }
    elif kind == 3:
        detail["eventName"] = [{"anything-but": rng.choice(NAMES)}]
    else:
        detail["responseElements"] = {"x-amz-version-id": [{"exists": rng.random() < 0.5}]}
    return {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"], "detail": detail}


def make_event(rng: random.Random) -> dict[str, object]:
    """A CloudTrail-shaped S3 data event."""
    response = {"x-amz-version-id": "v1"} if rng.random() < 0.5 else {}
    return {
        "version": "0",
        "id": str(rng.random()),
        "source": "aws.s3",
        "detail-type": "AWS API Call via CloudTrail",
        "account": "000000000000",
        "time": "2026-11-28T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventSource": "s3.amazonaws.com",
            "eventName": rng.choice(NAMES),
            "requestParameters": {
                "bucketName": rng.choice(BUCKETS),
                "key": f"in/{rng.randint(0, 99)}/f.csv",
            },
            "additionalEventData": {"bytesTransferredIn": rng.randint(0, 10000)},
            "responseElements": response,
        },
    }


def timed(
    match: Callable[[dict[str, object]], T], events: list[dict[str, object]]
) -> tuple[float, list[T]]:
    """Events per second of one pass of ``match`` over the events, and what it returned."""
    start = time.perf_counter()
    found = [match(e) for e in events]
    return len(events) / (time.perf_counter() - start), found


def main() -> None:
    """Time both matchers on the same rules and events, round after round, and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; the best of each counts"
    )
    args = parser.parse_args()
    rng = random.Random(7)
    rules = [make_rule(i, rng) for i in range(args.rules)]
    events = [make_event(rng) for _ in range(args.events)]
    matcher = Matcher()
    for i, rule in enumerate(rules):
        matcher.add(str(i), parse(rule))
    moto_rules = [(str(i), EventPattern.load(json.dumps(r))) for i, r in enumerate(rules)]

    def moto(event: dict[str, object]) -> set[str]:
        return {i for i, p in moto_rules if p.matches_event(event)}

    ours_rates, moto_rates = [], []
    for n in range(args.rounds):
        ours_rate, ours = timed(matcher.matches, events)
        moto_rate, theirs = timed(moto, events)
        disagree = sum(1 for a, b in zip(ours, theirs, strict=True) if a != b)
        if disagree:
            raise SystemExit(f"the matchers disagree on {disagree} of {len(events)} events")
        ours_rates.append(ours_rate)
        moto_rates.append(moto_rate)
        print(
            f"round {n + 1}: s3batch {ours_rate:.0f}/s, moto {moto_rate:.0f}/s, {ours_rate / moto_rate:.1f}x"
        )
    matches = sum(len(found) for found in ours)
    print(
        f"{args.rules} rules x {args.events} events, {matches} matches (same rules for every event)"
    )
    print(f"{'matcher':<12}{'events/s':>12}   (best of {args.rounds} rounds)")
    print(f"{'s3batch':<12}{max(ours_rates):>12.0f}")
    print(f"{'moto':<12}{max(moto_rates):>12.0f}")
    print(f"ratio {max(ours_rates) / max(moto_rates):.1f}x   (target >= 60x moto)")


if __name__ == "__main__":
    main()
