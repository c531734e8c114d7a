"""CloudTrail records of S3 object calls, and the EventBridge events that carry them (pure).

Shapes follow CloudTrail data events for S3 as AWS delivers them to EventBridge: source
``aws.s3``, detail-type ``AWS API Call via CloudTrail``, the record in ``detail`` with
``requestParameters.bucketName`` and ``.key`` (the raw key, not URL-encoded).
"""

from __future__ import annotations

import uuid

from s3batch.types import Json

#: CloudTrail record format version.
EVENT_VERSION = "1.10"


def _user_identity(call: Json, account: str) -> Json:
    return {
        "type": "IAMUser",
        "principalId": call.get("accessKeyId", ""),
        "arn": f"arn:aws:iam::{account}:user/s3batch",
        "accountId": account,
        "accessKeyId": call.get("accessKeyId", ""),
        "userName": "s3batch",
    }


def _request_parameters(call: Json) -> Json:
    params: Json = {
        "bucketName": call["bucket"],
        "Host": call.get("host") or "127.0.0.1",
        "key": call["key"],
    }
    if call.get("uploadId"):
        params["uploadId"] = call["uploadId"]
    if call.get("source"):
        params["x-amz-copy-source"] = call["source"]
    return params


def cloudtrail_record(call: Json, account: str) -> Json:
    """The CloudTrail record of one object API call (an outbox ``s3.api_call`` payload)."""
    bucket, key = call["bucket"], call["key"]
    return {
        "eventVersion": EVENT_VERSION,
        "userIdentity": _user_identity(call, account),
        "eventTime": call["eventTime"],
        "eventSource": "s3.amazonaws.com",
        "eventName": call["eventName"],
        "awsRegion": call.get("region", "us-east-1"),
        "sourceIPAddress": call.get("sourceIPAddress", "127.0.0.1"),
        "userAgent": f"[{call.get('userAgent', '')}]",
        "requestParameters": _request_parameters(call),
        "responseElements": None,
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "AuthenticationMethod": "AuthHeader",
            "bytesTransferredIn": call.get("size", 0) if call["eventName"] == "PutObject" else 0,
            "bytesTransferredOut": 0,
            "x-amz-id-2": call.get("requestId", ""),
        },
        "requestID": call.get("requestId", ""),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "resources": [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": account,
        "eventCategory": "Data",
    }


def bus_event(record: Json, account: str) -> Json:
    """The EventBridge event that delivers a CloudTrail record."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3",
        "account": account,
        "time": record["eventTime"],
        "region": record["awsRegion"],
        "resources": [],
        "detail": record,
    }
