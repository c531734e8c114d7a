"""The JSON 1.1 protocol through Secrets Manager, in process: real boto3 and botocore signers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.secretsmanager import SecretsManagerProtocol
from s3batch.clock import FakeClock, SystemClock
from s3batch.credentials import Credentials
from s3batch.secrets import Secrets
from s3batch.state.db import Database

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://127.0.0.1:4566"
VALUE = '{"engine": "postgres", "password": "hunter2-top-secret"}'
CREATED = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def secrets(tmp_path: Path) -> Iterator[Secrets]:
    db = Database(tmp_path / "state.db")
    service = Secrets(db, FakeClock(CREATED), "us-east-1", "000000000000")
    service.ensure("RDS-credentials", VALUE, "tutorial database")
    yield service
    db.close()


@pytest.fixture
def protocol(secrets: Secrets) -> SecretsManagerProtocol:
    auth = Authenticator([Credentials(AKID, SECRET_KEY)], SystemClock())
    return SecretsManagerProtocol(secrets, auth)


def _request(method: str, url: str, headers: Any, body: bytes) -> Request:
    """What the ASGI server hands the protocol: lower-case headers, Host from the URL."""
    parts = urlsplit(url)
    lowered = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}
    lowered.setdefault("host", parts.netloc)
    lowered.setdefault("content-length", str(len(body)))
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(method, parts.path or "/", parts.query, lowered, "127.0.0.1", receive)


def call(
    protocol: SecretsManagerProtocol,
    target: str,
    params: Any,
    secret_key: str = SECRET_KEY,
    sign: bool = True,
) -> tuple[Response, dict[str, Any]]:
    """POST one JSON 1.1 request signed as botocore signs it; the response and its JSON."""
    body = params if isinstance(params, bytes) else json.dumps(params).encode()
    headers = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    aws_request = AWSRequest(method="POST", url=ENDPOINT + "/", data=body, headers=headers)
    if sign:
        signer = SigV4Auth(BotoCredentials(AKID, secret_key), "secretsmanager", "us-east-1")
        signer.add_auth(aws_request)
    prepared = aws_request.prepare()
    request = _request("POST", prepared.url, prepared.headers, body)
    response = asyncio.run(protocol(request))
    return response, json.loads(response.body)


def _header(response: Response, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name), None)


# --- operations ---------------------------------------------------------------------------


def test_get_secret_value_by_name(protocol: SecretsManagerProtocol, secrets: Secrets) -> None:
    response, body = call(
        protocol, "secretsmanager.GetSecretValue", {"SecretId": "RDS-credentials"}
    )
    secret = secrets.describe("RDS-credentials")
    assert response.status == 200
    assert _header(response, "content-type") == "application/x-amz-json-1.1"
    assert _header(response, "x-amzn-requestid")
    assert body == {
        "ARN": secret.arn,
        "Name": "RDS-credentials",
        "VersionId": secret.version_id,
        "SecretString": VALUE,
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": CREATED.timestamp(),
    }


def test_get_secret_value_by_arn(protocol: SecretsManagerProtocol, secrets: Secrets) -> None:
    arn = secrets.describe("RDS-credentials").arn
    for secret_id in (arn, arn[: -len("-XXXXXX")]):
        response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": secret_id})
        assert (response.status, body["SecretString"]) == (200, VALUE)


def test_create_secret_then_a_second_one_of_that_name_exists(
    protocol: SecretsManagerProtocol,
) -> None:
    response, created = call(
        protocol, "secretsmanager.CreateSecret", {"Name": "new", "SecretString": "v1"}
    )
    assert response.status == 200 and created["Name"] == "new" and "SecretString" not in created
    _, got = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": created["ARN"]})
    assert (got["SecretString"], got["VersionId"]) == ("v1", created["VersionId"])
    response, body = call(
        protocol, "secretsmanager.CreateSecret", {"Name": "new", "SecretString": "v2"}
    )
    assert (response.status, body["__type"]) == (400, "ResourceExistsException")
    response, body = call(
        protocol, "secretsmanager.CreateSecret", {"Name": "b", "SecretBinary": "AA=="}
    )
    assert (response.status, body["__type"]) == (400, "InvalidParameterException")


def test_create_secret_makes_its_client_request_token_the_version_id(
    protocol: SecretsManagerProtocol,
) -> None:
    token = "0123456789abcdef0123456789abcdef"
    _, created = call(
        protocol,
        "secretsmanager.CreateSecret",
        {"Name": "tokened", "SecretString": "v1", "ClientRequestToken": token},
    )
    assert created["VersionId"] == token
    _, got = call(
        protocol, "secretsmanager.GetSecretValue", {"SecretId": "tokened", "VersionId": token}
    )
    assert got["SecretString"] == "v1"
    response, body = call(
        protocol,
        "secretsmanager.CreateSecret",
        {"Name": "short", "SecretString": "v", "ClientRequestToken": "short"},
    )
    assert (response.status, body["__type"]) == (400, "InvalidParameterException")


def test_put_update_and_delete_a_secret(protocol: SecretsManagerProtocol) -> None:
    _, created = call(protocol, "secretsmanager.CreateSecret", {"Name": "db", "SecretString": "v1"})
    token = "f" * 32
    _, put = call(
        protocol,
        "secretsmanager.PutSecretValue",
        {"SecretId": created["ARN"], "SecretString": "v2", "ClientRequestToken": token},
    )
    assert put["VersionId"] == token and put["VersionStages"] == ["AWSCURRENT"]
    _, got = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "db"})
    assert (got["SecretString"], got["VersionId"]) == ("v2", token)
    _, updated = call(
        protocol, "secretsmanager.UpdateSecret", {"SecretId": "db", "Description": "the db"}
    )
    assert updated["VersionId"] == token  # the value did not change: the same version
    _, described = call(protocol, "secretsmanager.DescribeSecret", {"SecretId": "db"})
    assert described["Description"] == "the db"
    response, body = call(protocol, "secretsmanager.DeleteSecret", {"SecretId": "db"})
    assert (response.status, body["__type"]) == (400, "InvalidParameterException")
    _, deleted = call(
        protocol,
        "secretsmanager.DeleteSecret",
        {"SecretId": "db", "ForceDeleteWithoutRecovery": True},
    )
    assert deleted["Name"] == "db" and deleted["DeletionDate"] > 0
    response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "db"})
    assert (response.status, body["__type"]) == (400, "ResourceNotFoundException")
    response, body = call(
        protocol, "secretsmanager.PutSecretValue", {"SecretId": "db", "SecretString": "v3"}
    )
    assert body["__type"] == "ResourceNotFoundException"


def test_unknown_secret_is_resource_not_found(protocol: SecretsManagerProtocol) -> None:
    response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "nope"})
    assert response.status == 400
    assert body == {
        "__type": "ResourceNotFoundException",
        "message": "Secrets Manager can't find the specified secret.",
    }
    assert _header(response, "x-amzn-errortype") == "ResourceNotFoundException"


def test_describe_and_list_never_return_the_value(protocol: SecretsManagerProtocol) -> None:
    response, described = call(
        protocol, "secretsmanager.DescribeSecret", {"SecretId": "RDS-credentials"}
    )
    assert response.status == 200
    assert described["Description"] == "tutorial database"
    assert list(described["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
    response, listed = call(protocol, "secretsmanager.ListSecrets", {})
    assert response.status == 200
    assert [s["Name"] for s in listed["SecretList"]] == ["RDS-credentials"]
    assert "hunter2" not in json.dumps(described) + json.dumps(listed)


def test_list_secrets_pages(protocol: SecretsManagerProtocol, secrets: Secrets) -> None:
    for name in ("a", "b", "c"):
        secrets.ensure(name, "x")
    names, token = [], None
    while True:
        params: dict[str, Any] = {"MaxResults": 2, **({"NextToken": token} if token else {})}
        _, page = call(protocol, "secretsmanager.ListSecrets", params)
        names += [s["Name"] for s in page["SecretList"]]
        token = page.get("NextToken")
        if token is None:
            break
    assert names == ["RDS-credentials", "a", "b", "c"]
    response, body = call(protocol, "secretsmanager.ListSecrets", {"NextToken": "!!"})
    assert (response.status, body["__type"]) == (400, "InvalidNextTokenException")


# --- protocol errors ----------------------------------------------------------------------


def test_wrong_secret_key_is_invalid_signature(protocol: SecretsManagerProtocol) -> None:
    params = {"SecretId": "RDS-credentials"}
    response, body = call(protocol, "secretsmanager.GetSecretValue", params, secret_key="wrong")
    assert response.status == 400
    assert body["__type"] == "InvalidSignatureException"
    assert body["message"].startswith("The request signature we calculated does not match")
    assert "hunter2" not in response.body.decode()


def test_unknown_access_key_is_unrecognized_client(protocol: SecretsManagerProtocol) -> None:
    protocol.protocol.auth = Authenticator([Credentials("AKIAOTHER", SECRET_KEY)], SystemClock())
    response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "x"})
    assert (response.status, body["__type"]) == (400, "UnrecognizedClientException")
    assert body["message"] == "The security token included in the request is invalid."


def test_unsigned_request_is_missing_authentication_token(protocol: SecretsManagerProtocol) -> None:
    response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "x"}, sign=False)
    assert (response.status, body["__type"]) == (400, "MissingAuthenticationTokenException")


def test_stale_signature_is_invalid_signature_signature_expired(
    protocol: SecretsManagerProtocol,
) -> None:
    server_now = FakeClock(datetime.now(UTC) + timedelta(hours=1))
    protocol.protocol.auth = Authenticator([Credentials(AKID, SECRET_KEY)], server_now)
    response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "x"})
    assert (response.status, body["__type"]) == (400, "InvalidSignatureException")
    assert body["message"].startswith("Signature expired: ")
    assert body["message"].endswith(" - 15 min.)")


def test_a_signature_from_the_future_is_not_yet_current(protocol: SecretsManagerProtocol) -> None:
    server_now = FakeClock(datetime.now(UTC) - timedelta(hours=1))
    protocol.protocol.auth = Authenticator([Credentials(AKID, SECRET_KEY)], server_now)
    response, body = call(protocol, "secretsmanager.GetSecretValue", {"SecretId": "x"})
    assert (response.status, body["__type"]) == (400, "InvalidSignatureException")
    assert body["message"].startswith("Signature not yet current: ")


def test_a_malformed_authorization_header_is_an_incomplete_signature(
    protocol: SecretsManagerProtocol,
) -> None:
    body = b"{}"
    headers = {"x-amz-target": "secretsmanager.ListSecrets", "authorization": "AWS4-HMAC-SHA256 x"}
    response = asyncio.run(protocol(_request("POST", ENDPOINT + "/", headers, body)))
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "IncompleteSignatureException"


def test_a_tampered_body_fails_the_signature(protocol: SecretsManagerProtocol) -> None:
    body = json.dumps({"SecretId": "x"}).encode()
    aws_request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"X-Amz-Target": "secretsmanager.GetSecretValue"},
    )
    SigV4Auth(BotoCredentials(AKID, SECRET_KEY), "secretsmanager", "us-east-1").add_auth(
        aws_request
    )
    prepared = aws_request.prepare()
    tampered = json.dumps({"SecretId": "RDS-credentials"}).encode()
    response = asyncio.run(protocol(_request("POST", prepared.url, prepared.headers, tampered)))
    assert json.loads(response.body)["__type"] == "InvalidSignatureException"


@pytest.mark.parametrize(
    "target", ["secretsmanager.RotateSecret", "secretsmanager.", "AWSEvents.GetSecretValue", ""]
)
def test_unknown_operation(protocol: SecretsManagerProtocol, target: str) -> None:
    response, body = call(protocol, target, {})
    assert (response.status, body["__type"]) == (400, "UnknownOperationException")


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b'"hunter2"'])
def test_a_body_that_is_not_a_json_object_is_a_serialization_error(
    protocol: SecretsManagerProtocol, payload: bytes
) -> None:
    response, body = call(protocol, "secretsmanager.GetSecretValue", payload)
    assert (response.status, body["__type"]) == (400, "SerializationException")
    assert "hunter2" not in body["message"]


@pytest.mark.parametrize("params", [{}, {"SecretId": 7}, {"SecretId": True}])
def test_missing_or_mistyped_members_are_validation_errors(
    protocol: SecretsManagerProtocol, params: dict[str, Any]
) -> None:
    response, body = call(protocol, "secretsmanager.GetSecretValue", params)
    assert (response.status, body["__type"]) == (400, "ValidationException")
    assert "secretId" in body["message"]


def test_an_internal_failure_is_500_and_logged_without_the_value(
    protocol: SecretsManagerProtocol,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError(f"oops, leaking {VALUE}")

    monkeypatch.setattr(protocol.secrets, "get_value", broken)
    with caplog.at_level(logging.DEBUG):
        response, body = call(
            protocol, "secretsmanager.GetSecretValue", {"SecretId": "RDS-credentials"}
        )
    assert (response.status, body["__type"]) == (500, "InternalFailure")
    assert "hunter2" not in response.body.decode()
    assert "RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text


# --- a real boto3 client, its requests answered in process ---------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.fixture
def client(protocol: SecretsManagerProtocol) -> Any:
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        response = asyncio.run(
            protocol(_request(request.method, request.url, request.headers, body))
        )
        headers = dict(response.headers)
        return AWSResponse(request.url, response.status, headers, _Raw(response.body))

    sm.meta.events.register("before-send.secretsmanager", answer)
    return sm


def test_boto3_get_secret_value(client: Any, secrets: Secrets) -> None:
    got = client.get_secret_value(SecretId="RDS-credentials")
    assert got["SecretString"] == VALUE
    assert got["ARN"] == secrets.describe("RDS-credentials").arn
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert got["CreatedDate"] == CREATED
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["ResponseMetadata"]["RequestId"]


def test_boto3_reads_errors_by_code_and_message(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client.get_secret_value(SecretId="nope")
    error = info.value.response["Error"]
    assert error == {
        "Code": "ResourceNotFoundException",
        "Message": "Secrets Manager can't find the specified secret.",
    }
    assert isinstance(info.value, client.exceptions.ResourceNotFoundException)


def test_boto3_describe_and_list(client: Any) -> None:
    described = client.describe_secret(SecretId="RDS-credentials")
    assert described["Name"] == "RDS-credentials"
    assert described["CreatedDate"].timestamp() == CREATED.timestamp()
    listed = client.list_secrets()
    assert [s["Name"] for s in listed["SecretList"]] == ["RDS-credentials"]
    assert "SecretString" not in described and "SecretString" not in listed["SecretList"][0]
