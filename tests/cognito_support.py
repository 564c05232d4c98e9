"""A user of a pool, the way a person becomes one: SignUp, the confirmation code read from
overcast's codes endpoint (where the mail would have gone), ConfirmSignUp, then InitiateAuth."""

from __future__ import annotations

import httpx
from conftest import make_client


def latest_code(endpoint: str, pool_id: str, destination: str, purpose: str = "signup") -> str:
    """The newest code "sent" to this address."""
    codes = httpx.get(f"{endpoint}/_overcast/cognito-idp/codes", params={"userPoolId": pool_id}).json()["codes"]
    return [c for c in codes if c["purpose"] == purpose and c["destination"] == destination][-1]["code"]


def signed_up_user(endpoint: str, pool_id: str, client_id: str, email: str, password: str = "Passw0rd!",
                   groups: tuple[str, ...] = ()) -> dict:
    """The AuthenticationResult (IdToken, AccessToken, RefreshToken) of a new, confirmed user, who
    an administrator put in `groups` before the sign-in."""
    idp = make_client(endpoint, "cognito-idp")
    idp.sign_up(ClientId=client_id, Username=email, Password=password,
                UserAttributes=[{"Name": "email", "Value": email}])
    idp.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=latest_code(endpoint, pool_id, email))
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    return idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]
