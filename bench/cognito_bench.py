"""Cognito: sign-ins per second over raw HTTP with 8 threads — USER_PASSWORD_AUTH of users who
signed in before (the password already proven) and of users signing in for the first time (a
scrypt each), and whole SRP sign-ins (InitiateAuth + RespondToAuthChallenge, the client's half
computed with GMP as a browser's would be, bench/srp_client.py) — and what an HTTP API JWT
authorizer on a user pool adds per request.

    .venv/bin/python bench/cognito_bench.py [sign-ins] [requests]

Everything runs on the same machine: the client threads take CPU from the server. Each sign-in
figure comes with the server process's CPU time per sign-in (/proc/<pid>/stat, all its threads),
which a shared machine's load disturbs much less than the wall-clock rate, and the load average.

Targets (issue "Cognito"): InitiateAuth USER_PASSWORD_AUTH >= 300/s and SRP sign-in >= 100/s on 2
cores; an authorizer's JWT check <= 0.2 ms per request once the key is cached.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import boto3
import srp_client
from botocore.config import Config
from common import Server

PASSWORD = "Passw0rd!"


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}, max_pool_connections=64))


def setup(endpoint: str, users: int, prefix: str = "user", pool_app: tuple[str, str] | None = None) -> tuple[str, str]:
    idp = client(endpoint, "cognito-idp")
    if pool_app is None:
        pool = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
        app = idp.create_user_pool_client(UserPoolId=pool, ClientName="bench", ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    else:
        pool, app = pool_app

    def create(i):
        idp.admin_create_user(UserPoolId=pool, Username=f"{prefix}{i}", MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=pool, Username=f"{prefix}{i}", Password=PASSWORD, Permanent=True)

    with ThreadPoolExecutor(8) as threads:
        list(threads.map(create, range(users)))
    return pool, app


def _call(conn, target: str, params: dict) -> dict:
    conn.request("POST", "/", body=json.dumps(params), headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}"})
    response = conn.getresponse()
    data = response.read()
    assert response.status == 200, data[:200]
    return json.loads(data)


SERVER_PID: int | None = None  # the server's process, whose CPU time each run reads


def server_cpu() -> tuple[float, float]:
    """CPU seconds (user + system) the server process has used so far: all its threads, and its
    main thread (the event loop's)."""
    if SERVER_PID is None:
        return float("nan"), float("nan")

    def read(path: str) -> float:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return read(f"/proc/{SERVER_PID}/stat"), read(f"/proc/{SERVER_PID}/task/{SERVER_PID}/stat")


class Rate(float):
    """Sign-ins per second (wall-clock), with the server's CPU milliseconds per sign-in."""

    cpu_ms: float
    loop_ms: float

    def __format__(self, spec: str) -> str:
        bound = min(2000 / self.cpu_ms, 1000 / self.loop_ms)
        return (f"{float(self):{spec}}/s wall-clock; server CPU {self.cpu_ms:.2f} ms per sign-in, "
                f"{self.loop_ms:.2f} ms of it on the event loop's thread: at most {bound:,.0f}/s on 2 idle cores")


def _rate(endpoint: str, count: int, one) -> Rate:
    """Sign-ins per second, `one(conn, i)` on 8 threads with a keep-alive connection each."""
    url = urlparse(endpoint)
    local = threading.local()

    def run(i):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        one(local.conn, i)

    started, (cpu, loop) = time.perf_counter(), server_cpu()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(run, range(count)))
    rate = Rate(count / (time.perf_counter() - started))
    cpu_after, loop_after = server_cpu()
    rate.cpu_ms, rate.loop_ms = (cpu_after - cpu) / count * 1000, (loop_after - loop) / count * 1000
    return rate


def password_sign_ins(endpoint: str, app: str, count: int, users: int, prefix: str = "user") -> Rate:
    return _rate(endpoint, count, lambda conn, i: _call(conn, "InitiateAuth", {
        "ClientId": app, "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": f"{prefix}{i % users}", "PASSWORD": PASSWORD}}))


def srp_sign_ins(endpoint: str, pool_id: str, app: str, count: int, users: int) -> Rate:
    """Whole SRP sign-ins; the client's half of the SRP arithmetic runs on the same 2 cores."""

    def one(conn, i):
        name = f"user{i % users}"
        a, big_a = srp_client.start()
        challenge = _call(conn, "InitiateAuth", {"ClientId": app, "AuthFlow": "USER_SRP_AUTH",
                                                 "AuthParameters": {"USERNAME": name, "SRP_A": big_a}})
        answers = srp_client.claim(pool_id, name, PASSWORD, a, big_a, challenge["ChallengeParameters"])
        result = _call(conn, "RespondToAuthChallenge", {"ClientId": app, "ChallengeName": "PASSWORD_VERIFIER",
                                                        "Session": challenge["Session"], "ChallengeResponses": answers})
        assert "AccessToken" in result["AuthenticationResult"]

    return _rate(endpoint, count, one)


def authorizer_cost(endpoint: str, pool_id: str, app: str, requests: int) -> tuple[float, float]:
    """p50 of a MOCK-like HTTP API route with and without a JWT authorizer on the pool (ms)."""
    gw, idp = client(endpoint, "apigatewayv2"), client(endpoint, "cognito-idp")
    token = idp.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "user0", "PASSWORD": PASSWORD})["AuthenticationResult"]["AccessToken"]
    api = gw.create_api(Name="bench", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(ApiId=api, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                        IntegrationUri=f"{endpoint}/_localstack/health",
                                        PayloadFormatVersion="1.0")["IntegrationId"]
    authorizer = gw.create_authorizer(ApiId=api, Name="pool", AuthorizerType="JWT",
                                      IdentitySource=["$request.header.Authorization"],
                                      JwtConfiguration={"Issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
                                                        "Audience": [app]})["AuthorizerId"]
    gw.create_route(ApiId=api, RouteKey="GET /open", Target=f"integrations/{integration}")
    gw.create_route(ApiId=api, RouteKey="GET /secure", Target=f"integrations/{integration}",
                    AuthorizationType="JWT", AuthorizerId=authorizer)
    gw.create_stage(ApiId=api, StageName="$default", AutoDeploy=True)
    url = urlparse(endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def p50(path: str, headers: dict) -> float:
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            conn.request("GET", f"/_aws/execute-api/{api}{path}", headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    p50("/open", {})
    p50("/secure", {"Authorization": f"Bearer {token}"})
    rounds = [(p50("/open", {}), p50("/secure", {"Authorization": f"Bearer {token}"})) for _ in range(3)]
    return statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)


def main() -> None:
    sign_ins = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    global SERVER_PID
    server = Server()
    SERVER_PID = server.process.pid
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    try:
        pool, app = setup(server.endpoint, 20)
        password_sign_ins(server.endpoint, app, 20, 20)  # each of the 20 users signs in once
        print(f"InitiateAuth USER_PASSWORD_AUTH, users who signed in before: "
              f"{password_sign_ins(server.endpoint, app, sign_ins, 20):,.0f} (target 300)")
        setup(server.endpoint, sign_ins // 2, "new", (pool, app))
        print(f"InitiateAuth USER_PASSWORD_AUTH, each user's first sign-in: "
              f"{password_sign_ins(server.endpoint, app, sign_ins // 2, sign_ins // 2, 'new'):,.0f}")
        print(f"SRP sign-in (InitiateAuth + RespondToAuthChallenge, client with GMP): "
              f"{srp_sign_ins(server.endpoint, pool, app, sign_ins // 2, 20):,.0f} (target 100)")
        open_p50, secure_p50 = authorizer_cost(server.endpoint, pool, app, requests)
        print(f"HTTP API route p50: {open_p50:.3f} ms without an authorizer, {secure_p50:.3f} ms with a JWT "
              f"authorizer on the pool: +{secure_p50 - open_p50:.3f} ms (target <= 0.2 ms)")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
