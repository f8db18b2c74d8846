"""Checks that a request came through edge-auth-gateway: Python's standard library only.

docs/origin.md quotes this file; a test runs it on requests the gateway signed.
"""
import base64
import hashlib
import hmac
import re
import time


class GatewayVerificationError(Exception):
    """A refused request; `code` is "missing", "expired" or "bad_signature"."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v1=([A-Za-z0-9_-]{43})")


def verify_gateway_request(method, target, headers, secret, max_age_seconds=60, now=None):
    """Returns (user, session) of a request the gateway signed, None for either when absent.

    method: the request method; target: the path and query exactly as received (WSGI's
    RAW_URI or REQUEST_URI, never the decoded PATH_INFO); headers: a mapping with lower-case
    names; secret: ORIGIN_SIGNING_SECRET, or its two secrets "new,old" during a rotation.
    """
    secrets = [part.strip() for part in secret.split(",")]
    if len(secrets) > 2 or any(len(part) < 32 for part in secrets):
        raise ValueError("secret must be one secret of at least 32 characters, or two separated by a comma")
    timestamp = headers.get("x-auth-timestamp")
    signature = headers.get("x-auth-signature")
    if timestamp is None or signature is None:
        raise GatewayVerificationError("missing", "the request did not come through the gateway")
    match = _SIGNATURE.fullmatch(signature)
    if _TIMESTAMP.fullmatch(timestamp) is None or match is None:
        raise GatewayVerificationError("bad_signature", "malformed X-Auth-Timestamp or X-Auth-Signature")
    user = headers.get("x-auth-user") or ""
    session = headers.get("x-auth-session") or ""
    signed = "\n".join(["v1", timestamp, method, target, user, session]).encode("utf-8")
    # compare_digest takes the same time wherever the strings differ.
    if not any(hmac.compare_digest(_mac(part, signed), match.group(1)) for part in secrets):
        raise GatewayVerificationError("bad_signature", "the signature does not match this request")
    if abs((time.time() if now is None else now) - int(timestamp)) > max_age_seconds:
        raise GatewayVerificationError("expired", "the request was signed too long ago, or in the future")
    return (user or None, session or None)


def _mac(secret, signed):
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
