"""The client's half of Cognito's SRP-6a sign-in (USER_SRP_AUTH, PASSWORD_VERIFIER), as Amplify
computes it, with GMP's arithmetic: so that a benchmark's client costs what a browser's would, not
what pycognito's pure-Python arithmetic costs.

    a, big_a = start()
    challenge = InitiateAuth(AuthFlow=USER_SRP_AUTH, AuthParameters={USERNAME, SRP_A: big_a})
    answers = claim(pool_id, username, password, a, big_a, challenge["ChallengeParameters"])
    RespondToAuthChallenge(ChallengeName=PASSWORD_VERIFIER, ChallengeResponses=answers, Session=...)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sys
from datetime import UTC, datetime

from gmpy2 import powmod

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from overcast.services.cognitoidp import srp  # noqa: E402


def start() -> tuple[int, str]:
    a = int.from_bytes(os.urandom(32), "big")
    return a, format(int(powmod(srp.G, a, srp.N)), "x")


def claim(pool: str, name: str, password: str, a: int, big_a: str, params: dict) -> dict:
    """The client's PASSWORD_VERIFIER answer (Cognito's SRP-6a, as Amplify computes it)."""
    big_b = int(params["SRP_B"], 16)
    u = int(srp.hex_hash(srp.pad_hex(big_a) + srp.pad_hex(params["SRP_B"])), 16)
    inner = hashlib.sha256(f"{srp.pool_name(pool)}{params['USER_ID_FOR_SRP']}:{password}".encode()).hexdigest()
    x = int(srp.hex_hash(srp.pad_hex(int(params["SALT"], 16)) + inner), 16)  # the salt read as a number
    s = int(powmod((big_b - srp.K * int(powmod(srp.G, x, srp.N))) % srp.N, a + u * x, srp.N))
    prk = hmac.new(bytes.fromhex(srp.pad_hex(format(u, "x"))), bytes.fromhex(srp.pad_hex(s)), hashlib.sha256).digest()
    key = hmac.new(prk, srp.INFO, hashlib.sha256).digest()[:16]
    timestamp = datetime.now(UTC).strftime("%a %b %-d %H:%M:%S UTC %Y")
    message = (srp.pool_name(pool) + params["USER_ID_FOR_SRP"]).encode() + base64.b64decode(params["SECRET_BLOCK"]) + \
        timestamp.encode()
    signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return {"USERNAME": params["USER_ID_FOR_SRP"], "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
            "TIMESTAMP": timestamp, "PASSWORD_CLAIM_SIGNATURE": signature}
