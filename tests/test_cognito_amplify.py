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
