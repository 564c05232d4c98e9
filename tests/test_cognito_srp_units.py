"""Pure logic of the server's SRP arithmetic (overcast/services/cognitoidp/srp.py)."""

from __future__ import annotations

import secrets

from overcast.services.cognitoidp import srp


def test_fixed_base_power_of_g_equals_the_general_exponentiation():
    for exponent in (0, 1, 15, 16, 2**255, 2**256 - 1, 2**256, 2**300 + 7,
                     *(secrets.randbits(256) for _ in range(20))):
        assert srp.g_pow(exponent) == pow(srp.G, exponent, srp.N), exponent


def test_a_salt_is_written_as_the_number_clients_read_it_as(monkeypatch):
    """Amplify and the AWS SDKs parse SALT as a number and pad its hex again: 16 random bytes whose
    first is zero, written "0031...", were hashed as "31..." by them, so that user (1 in 512)
    could never sign in with SRP. The salt is now the number's own digits."""
    monkeypatch.setattr(srp.secrets, "randbits", lambda bits: 0x00312C3D4E5F60718293A4B5C6D7E8F9)
    salt, _ = srp.verifier("us-east-1_abc", "amy", "Passw0rd!")
    assert salt == "312c3d4e5f60718293a4b5c6d7e8f9"
    assert srp.pad_hex(salt) == srp.pad_hex(int(salt, 16))
