"""CloudFormation and SAM deploy Step Functions state machines and Cognito user and identity pools
through the services' own providers: created, used, updated and deleted."""

from __future__ import annotations

import json

import pytest
from sfn_support import sfn_client, wait_done

FAST = {"Delay": 0.2, "MaxAttempts": 300}


@pytest.fixture
def cf(client):
    return client("cloudformation")


def deploy(cf, name: str, body: str, create: bool = True, transform: bool = False) -> dict:
    if transform:
        kind = "CREATE" if create else "UPDATE"
        change_set = cf.create_change_set(StackName=name, ChangeSetName=f"cs-{kind.lower()}", ChangeSetType=kind,
                                          TemplateBody=body, Capabilities=["CAPABILITY_IAM",
                                                                           "CAPABILITY_AUTO_EXPAND"])["Id"]
        cf.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig=FAST)
        cf.execute_change_set(ChangeSetName=change_set)
    elif create:
        cf.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    else:
        cf.update_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    cf.get_waiter("stack_create_complete" if create else "stack_update_complete").wait(StackName=name,
                                                                                       WaiterConfig=FAST)
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


SAM_MACHINE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
Resources:
  Workflow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      Definition:
        StartAt: Greet
        States:
          Greet:
            Type: Pass
            Parameters: {"message.$": "States.Format('${Greeting}, {}', $.name)"}
            End: true
      DefinitionSubstitutions:
        Greeting: !Ref Greeting
  Jobs:
    Type: AWS::StepFunctions::Activity
    Properties: {Name: !Sub "${AWS::StackName}-jobs"}  # required (the type's schema; AWS refuses it missing)
Outputs:
  Machine: {Value: !Ref Workflow}
  MachineName: {Value: !GetAtt Workflow.Name}
  Revision: {Value: !GetAtt Workflow.StateMachineRevisionId}
  Activity: {Value: !Ref Jobs}
"""


def test_sam_state_machine_deploys_runs_updates_and_deletes(cf, endpoint, unique_name):
    sfn = sfn_client(endpoint)
    name = unique_name("sfnstack")
    out = deploy(cf, name, SAM_MACHINE, transform=True)
    assert out["Machine"].startswith("arn:aws:states:us-east-1:000000000000:stateMachine:")
    assert sfn.describe_activity(activityArn=out["Activity"])["activityArn"] == out["Activity"]
    execution = sfn.start_execution(stateMachineArn=out["Machine"], input=json.dumps({"name": "Ada"}))
    assert json.loads(wait_done(sfn, execution["executionArn"])["output"]) == {"message": "hello, Ada"}
    assert out["Revision"] == "INITIAL"  # a machine never updated (PublishStateMachineVersion's name for it)
    updated = deploy(cf, name, SAM_MACHINE.replace("Default: hello", "Default: hi"), create=False, transform=True)
    assert updated["Revision"] == sfn.describe_state_machine(stateMachineArn=out["Machine"])["revisionId"]
    execution = sfn.start_execution(stateMachineArn=out["Machine"], input=json.dumps({"name": "Ada"}))
    assert json.loads(wait_done(sfn, execution["executionArn"])["output"]) == {"message": "hi, Ada"}
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=out["Machine"])


COGNITO = """
Resources:
  Pool:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: !Sub "${AWS::StackName}-users"
      UsernameAttributes: [email]
      AutoVerifiedAttributes: [email]
      Policies: {PasswordPolicy: {MinimumLength: 10}}
      Schema: [{Name: tenant, AttributeDataType: String, Mutable: true}]
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Pool
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
  Domain:
    Type: AWS::Cognito::UserPoolDomain
    Properties: {UserPoolId: !Ref Pool, Domain: !Sub "${AWS::StackName}-login"}
  Admins:
    Type: AWS::Cognito::UserPoolGroup
    Properties: {UserPoolId: !Ref Pool, GroupName: admins, Precedence: 1}
  Api:
    Type: AWS::Cognito::UserPoolResourceServer
    Properties: {UserPoolId: !Ref Pool, Identifier: orders, Name: orders, Scopes: [{ScopeName: read, ScopeDescription: read}]}
  Identities:
    Type: AWS::Cognito::IdentityPool
    Properties:
      AllowUnauthenticatedIdentities: false
      CognitoIdentityProviders: [{ClientId: !Ref Client, ProviderName: !GetAtt Pool.ProviderName}]
  Roles:
    Type: AWS::Cognito::IdentityPoolRoleAttachment
    Properties:
      IdentityPoolId: !Ref Identities
      Roles: {authenticated: arn:aws:iam::000000000000:role/users}
Outputs:
  PoolId: {Value: !Ref Pool}
  PoolArn: {Value: !GetAtt Pool.Arn}
  ClientId: {Value: !Ref Client}
  IdentityPoolId: {Value: !Ref Identities}
  ProviderUrl: {Value: !GetAtt Pool.ProviderURL}
"""


def test_cognito_pools_deploy_and_delete(cf, client, unique_name):
    idp, identity = client("cognito-idp"), client("cognito-identity")
    name = unique_name("cognitostack")
    out = deploy(cf, name, COGNITO)
    pool = idp.describe_user_pool(UserPoolId=out["PoolId"])["UserPool"]
    assert pool["Name"] == f"{name}-users" and pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert any(a["Name"] == "custom:tenant" for a in pool["SchemaAttributes"])
    assert out["ProviderUrl"] == f"https://cognito-idp.us-east-1.amazonaws.com/{out['PoolId']}"
    assert idp.get_group(UserPoolId=out["PoolId"], GroupName="admins")["Group"]["Precedence"] == 1
    assert idp.describe_user_pool_domain(Domain=f"{name}-login")["DomainDescription"]["UserPoolId"] == out["PoolId"]
    roles = identity.get_identity_pool_roles(IdentityPoolId=out["IdentityPoolId"])["Roles"]
    assert roles == {"authenticated": "arn:aws:iam::000000000000:role/users"}
    idp.sign_up(ClientId=out["ClientId"], Username="ivy@example.com", Password="Passw0rd!long")
    deploy(cf, name, COGNITO.replace("MinimumLength: 10", "MinimumLength: 12"), create=False)
    assert idp.describe_user_pool(UserPoolId=out["PoolId"])["UserPool"]["Policies"]["PasswordPolicy"][
        "MinimumLength"] == 12
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)
    with pytest.raises(idp.exceptions.ResourceNotFoundException):
        idp.describe_user_pool(UserPoolId=out["PoolId"])
