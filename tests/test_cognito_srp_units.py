"""Pure logic of the server's SRP arithmetic (overcast/services/cognitoidp/srp.py)."""

from __future__ import annotations

import secrets

from overcast.services.cognitoidp import srp


def test_fixed_base_power_of_g_equals_the_general_exponentiation():
    for exponent in (0, 1, 15, 16, 2**255, 2**256 - 1, 2**256, 2**300 + 7,
                     *(secrets.randbits(256) for _ in range(20))):
        assert srp.g_pow(exponent) == pow(srp.G, exponent, srp.N), exponent
