"""AWS's own JavaScript client for Cognito (Amplify v6, `aws-amplify/auth`) against overcast, under
Node: signUp, confirmSignUp with the code overcast "sent", signIn (SRP, Amplify's default),
fetchAuthSession with identity pool credentials, and signOut.

Needs `node` and the npm packages where OVERCAST_NODE_CLIENTS points (default
/tmp/overcast-node-clients; `.ci/run` installs them); skipped otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

CLIENTS = os.environ.get("OVERCAST_NODE_CLIENTS", "/tmp/overcast-node-clients")

SCRIPT = r"""
const { Amplify } = await import('aws-amplify');
const auth = await import('aws-amplify/auth');
const [endpoint, userPoolId, userPoolClientId, identityPoolId] = process.argv.slice(2);
Amplify.configure({ Auth: { Cognito: {
  userPoolId, userPoolClientId, identityPoolId, userPoolEndpoint: endpoint, identityPoolEndpoint: endpoint,
  loginWith: { email: true }, signUpVerificationMethod: 'code' } } });
const out = {};
const signedUp = await auth.signUp({ username: 'amy@example.com', password: 'Passw0rd!',
                                     options: { userAttributes: { email: 'amy@example.com' } } });
out.signUpStep = signedUp.nextStep.signUpStep;
const codes = await (await fetch(`${endpoint}/_overcast/cognito-idp/codes?userPoolId=${userPoolId}`)).json();
const code = codes.codes.filter((c) => c.purpose === 'signup').pop().code;
const confirmed = await auth.confirmSignUp({ username: 'amy@example.com', confirmationCode: code });
out.confirmed = confirmed.isSignUpComplete;
const signedIn = await auth.signIn({ username: 'amy@example.com', password: 'Passw0rd!' });
out.signedIn = signedIn.isSignedIn;
const session = await auth.fetchAuthSession();
out.email = session.tokens.idToken.payload.email;
out.identityId = session.identityId;
out.accessKeyId = session.credentials.accessKeyId;
const user = await auth.getCurrentUser();
out.username = user.username;
await auth.signOut({ global: true });
out.signedOut = true;
console.log(JSON.stringify(out));
process.exit(0);
"""


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(CLIENTS, "node_modules", "aws-amplify")),
                    reason=f"node and aws-amplify (npm install --prefix {CLIENTS} aws-amplify@6 ws@8) are needed")
def test_amplify_signs_up_confirms_signs_in_with_srp_and_gets_credentials(client, endpoint, unique_name, tmp_path):
    idp, identity = client("cognito-idp"), client("cognito-identity")
    pool = idp.create_user_pool(PoolName=unique_name("amplify"), UsernameAttributes=["email"],
                                AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="amplify")["UserPoolClient"]["ClientId"]
    identity_pool = identity.create_identity_pool(
        IdentityPoolName=unique_name("amplify").replace("-", "_"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool}", "ClientId": app}])
    identity.set_identity_pool_roles(IdentityPoolId=identity_pool["IdentityPoolId"],
                                     Roles={"authenticated": "arn:aws:iam::000000000000:role/amplify-users"})
    script = tmp_path / "amplify_auth.mjs"
    script.write_text(SCRIPT)
    env = {**os.environ, "NODE_PATH": os.path.join(CLIENTS, "node_modules")}
    link = tmp_path / "node_modules"
    link.symlink_to(os.path.join(CLIENTS, "node_modules"))
    result = subprocess.run(["node", str(script), endpoint, pool, app, identity_pool["IdentityPoolId"]],
                            capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["signUpStep"] == "CONFIRM_SIGN_UP" and out["confirmed"] is True and out["signedIn"] is True
    assert out["email"] == "amy@example.com" and out["identityId"].startswith("us-east-1:")
    assert out["accessKeyId"].startswith("ASIA") and out["signedOut"] is True


# Amplify's own SRP helper (its AuthenticationHelper, as signIn uses it) answering the server's
# challenge for a given salt: SALT is read as a number by Amplify, whatever digits it was sent with.
SRP_HELPER = r"""
const base = process.argv[2] + '/node_modules/@aws-amplify/auth/dist/esm/providers/cognito/utils/srp/';
const { getAuthenticationHelper } = await import(base + 'getAuthenticationHelper.mjs');
const { default: BigInteger } = await import(base + 'BigInteger/BigInteger.mjs');
const { getSignatureString } = await import(base + 'getSignatureString.mjs');
const { getNowString } = await import(base + 'getNowString.mjs');
const [poolName, username, password] = process.argv.slice(3, 6);
const helper = await getAuthenticationHelper(poolName);
console.log(JSON.stringify({A: helper.A.toString(16)}));
const lines = (await import('node:readline')).createInterface({input: process.stdin});
for await (const line of lines) {
  const c = JSON.parse(line);
  const hkdf = await helper.getPasswordAuthenticationKey({username, password,
    serverBValue: new BigInteger(c.SRP_B, 16), salt: new BigInteger(c.SALT, 16)});
  const dateNow = getNowString();
  console.log(JSON.stringify({TIMESTAMP: dateNow, SIGNATURE: getSignatureString({username, userPoolName: poolName,
    challengeParameters: c, dateNow, hkdf})}));
  break;
}
process.exit(0);
"""


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(CLIENTS, "node_modules", "aws-amplify")),
                    reason=f"node and aws-amplify (npm install --prefix {CLIENTS} aws-amplify@6) are needed")
@pytest.mark.parametrize("salt", ["00312c3d4e5f60718293a4b5c6d7e8f9", "0000aa3d4e5f60718293a4b5c6d7e8f9",
                                  "00812c3d4e5f60718293a4b5c6d7e8f9", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"])
def test_amplifys_srp_proves_the_password_whatever_the_salts_leading_zeros(salt, tmp_path):
    import base64
    import secrets

    from overcast.services.cognitoidp import srp

    script = tmp_path / "srp.mjs"
    script.write_text(SRP_HELPER)
    pool, user, password = "us-east-1_Srp0Salt", "7d3c-amy", "Passw0rd!"
    _, verifier = srp.verifier(pool, user, password, salt)
    b, big_b = srp.server_challenge(verifier)
    block = base64.b64encode(secrets.token_bytes(64)).decode()
    node = subprocess.Popen(["node", str(script), CLIENTS, srp.pool_name(pool), user, password], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    big_a = json.loads(node.stdout.readline())["A"]
    answer, errors = node.communicate(json.dumps({"SRP_B": big_b, "SALT": salt, "SECRET_BLOCK": block}) + "\n",
                                      timeout=60)
    assert node.returncode == 0, errors[-3000:]
    answer = json.loads(answer)
    assert srp.check_claim(pool, user, verifier, big_a, b, big_b, block, answer["TIMESTAMP"], answer["SIGNATURE"])
