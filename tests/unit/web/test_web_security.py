"""The dashboard's access rules: who needs to sign in, sessions, CSRF tokens, masking."""

from __future__ import annotations

from s3batch.credentials import Credentials
from s3batch.web.security import MASK, Access

KEY = Credentials("AKIAEXAMPLE000000001", "s3cr3t-value")


def test_loopback_needs_no_sign_in_and_any_other_host_does() -> None:
    assert not Access("127.0.0.1", [KEY]).login_required
    assert not Access("::1", [KEY]).login_required
    assert Access("0.0.0.0", [KEY]).login_required
    assert Access("192.168.1.5", [KEY]).login_required


def test_without_sign_in_only_loopback_host_names_are_served() -> None:
    local = Access("127.0.0.1", [KEY])
    assert (
        local.host_ok("127.0.0.1:4566")
        and local.host_ok("localhost")
        and local.host_ok("[::1]:4566")
    )
    assert not local.host_ok("evil.example:4566")
    assert Access("0.0.0.0", [KEY]).host_ok("evil.example")


def test_a_session_names_its_key_and_cannot_be_forged() -> None:
    access = Access("0.0.0.0", [KEY])
    assert access.check_key(KEY.access_key_id, KEY.secret_access_key)
    assert not access.check_key(KEY.access_key_id, "nope") and not access.check_key(
        "AKIAOTHER", "s3cr3t-value"
    )
    cookie = access.session(KEY.access_key_id)
    assert access.who(cookie) == KEY.access_key_id
    akid, expiry, mac = cookie.split(":")
    assert access.who(f"{akid}:{int(expiry) + 1000}:{mac}") is None
    assert access.who("garbage") is None and access.who(None) is None
    assert Access("0.0.0.0", [KEY]).who(cookie) is None  # a restarted server signs everyone out


def test_csrf_tokens_are_bound_to_the_browser() -> None:
    access = Access("127.0.0.1", [KEY])
    token = access.csrf("browser-a")
    assert access.csrf_ok("browser-a", token)
    assert not access.csrf_ok("browser-b", token)
    assert not access.csrf_ok(None, token) and not access.csrf_ok("browser-a", None)


def test_secret_looking_values_are_masked() -> None:
    access = Access("127.0.0.1", [KEY])
    assert access.mask("DB_PASSWORD", "hunter2") == MASK
    assert access.mask("API_TOKEN", "t") == MASK
    assert access.mask("AWS_SECRET_ACCESS_KEY", "x") == MASK
    assert access.mask("SIGNING_KEY", "x") == MASK
    assert access.mask("AWS_ACCESS_KEY_ID", KEY.access_key_id) == KEY.access_key_id
    assert access.mask("TABLE", "persons") == "persons"
    assert access.mask("ANYTHING", KEY.secret_access_key) == MASK
    assert access.mask("DB_PASS", "x") == MASK and access.mask("APIKEY", "x") == MASK
    assert access.mask("PASSENGERS", "3") == "3"
    assert (
        access.mask("DATABASE_URL", "postgresql://app:pw@db:5432/app")
        == f"postgresql://app:{MASK}@db:5432/app"
    )
    assert access.mask("SITE", "https://user@host/p") == "https://user@host/p"
    assert access.mask_text(f"run --key {KEY.secret_access_key}") == f"run --key {MASK}"
