"""The server side of the SRP-6a exchange Cognito's USER_SRP_AUTH uses (the one Amplify and the
AWS SDKs' SRP helpers speak): the 3072-bit group of RFC 5054, SHA-256, and Cognito's key
derivation ("Caldera Derived Key") and PASSWORD_CLAIM_SIGNATURE.

At sign-up (or any password change) the pool keeps a salt and the verifier v = g^x mod N, where
x = H(salt | H(poolName | userIdForSrp | ":" | password)); the password itself is never needed to
check an SRP claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

import gmpy2
from gmpy2 import mpz, powmod  # GMP's modular exponentiation: 8x Python's pow() at 3072 bits

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE3"
    "86BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D"
    "23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C"
    "180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8A"
    "AAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB09"
    "33D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D"
    "6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
INFO = b"Caldera Derived Key\x01"


def pad_hex(value) -> str:
    """Hex of a number (or hex text) as Cognito's clients pad it: even length, and a leading 00
    when the first digit would read as a sign bit."""
    text = value if isinstance(value, str) else format(value, "x")
    if len(text) % 2:
        text = "0" + text
    elif text[0] in "89abcdefABCDEF":
        text = "00" + text
    return text


def hex_hash(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


K = int(hex_hash("00" + N_HEX + "0" + format(G, "x")), 16)


def pool_name(pool_id: str) -> str:
    return pool_id.split("_", 1)[1]


def new_salt() -> str:
    """128 random bits in hex as the number's own digits (no leading zeros, so its length varies,
    as Cognito's SALT does). Amplify and the AWS SDKs read SALT as a number and pad its hex again
    (pad_hex): a salt written with a leading zero byte before a digit below 8 ("0031...") would
    be hashed as "31..." by them, and its user could never sign in with SRP (1 user in 512)."""
    while True:
        value = secrets.randbits(128)
        if value:
            return format(value, "x")


def verifier(pool_id: str, user_id: str, password: str, salt_hex: str | None = None) -> tuple[str, str]:
    """(salt hex, verifier hex) for a user's password; x hashes the salt as clients do, from its
    value (pad_hex of the number, not of the text)."""
    salt_hex = salt_hex or new_salt()
    inner = hashlib.sha256(f"{pool_name(pool_id)}{user_id}:{password}".encode()).hexdigest()
    x = int(hex_hash(pad_hex(int(salt_hex, 16)) + inner), 16)
    return salt_hex, format(int(powmod(G, x, N)), "x")


@cache
def _powers_of_g() -> list[list]:
    """g^(d * 16^i) mod N for each 4-bit digit d of a 256-bit exponent (i < 64): built once
    (about 1,100 multiplications), it turns each g^b into at most 64 multiplications instead of
    the 256 squarings of a general exponentiation."""
    table, base, n = [], mpz(G), mpz(N)
    for _ in range(64):
        row = [mpz(1), base]
        for _ in range(2, 16):
            row.append(row[-1] * base % n)
        table.append(row)
        base = powmod(base, 16, n)
    return table


def g_pow(exponent: int) -> int:
    """g^exponent mod N for an exponent below 2^256, from the fixed-base table."""
    if exponent >> 256:
        return int(powmod(G, exponent, N))
    table, n, result, i = _powers_of_g(), mpz(N), mpz(1), 0
    while exponent:
        digit = exponent & 15
        if digit:
            result = result * table[i][digit] % n
        exponent >>= 4
        i += 1
    return int(result)


def server_challenge(verifier_hex: str) -> tuple[str, str]:
    """(b hex, B hex): the server's secret and public values for one exchange (about 0.3 ms:
    cheaper than a hop to a worker thread and back on a loaded machine, so it runs in place)."""
    v = int(verifier_hex, 16)
    while True:
        b = secrets.randbits(256)  # 256 random bits, as SRP-6a asks of b
        big_b = (K * v + g_pow(b)) % N
        if big_b:
            return format(b, "x"), format(big_b, "x")


def check_claim(pool_id: str, user_id: str, verifier_hex: str, a_hex: str, b_hex: str, big_b_hex: str,
                secret_block: str, timestamp: str, signature: str) -> bool:
    """Whether PASSWORD_CLAIM_SIGNATURE proves the client knows the password. Its two
    exponentiations release the GIL: callers run it on a worker thread."""
    a = int(a_hex, 16)
    if a % N == 0:
        return False
    big_b = int(big_b_hex, 16)
    u = int(hex_hash(pad_hex(a) + pad_hex(big_b)), 16)
    if u == 0:
        return False
    v, b = int(verifier_hex, 16), int(b_hex, 16)
    with gmpy2.context(allow_release_gil=True):  # callers run this on a worker thread
        s = int(powmod(a * powmod(v, u, N), b, N))
    prk = hmac.new(bytes.fromhex(pad_hex(format(u, "x"))), bytes.fromhex(pad_hex(s)), hashlib.sha256).digest()
    key = hmac.new(prk, INFO, hashlib.sha256).digest()[:16]
    try:
        block = base64.b64decode(secret_block)
    except ValueError:
        return False
    message = pool_name(pool_id).encode() + user_id.encode() + block + timestamp.encode()
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)
