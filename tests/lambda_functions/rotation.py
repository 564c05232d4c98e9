"""A Secrets Manager rotation function in the shape of AWS's SecretsManagerRotationTemplate: four
steps, each calling Secrets Manager from inside the function with boto3. The "database" whose
password it rotates is an SSM parameter named by DATABASE_PARAMETER. FAIL_STEP makes one step fail."""

import logging
import os

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    arn = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]
    service_client = boto3.client("secretsmanager")

    metadata = service_client.describe_secret(SecretId=arn)
    if not metadata["RotationEnabled"]:
        raise ValueError(f"Secret {arn} is not enabled for rotation")
    versions = metadata["VersionIdsToStages"]
    if token not in versions:
        raise ValueError(f"Secret version {token} has no stage for rotation of secret {arn}.")
    if "AWSCURRENT" in versions[token]:
        logger.info("Secret version %s already set as AWSCURRENT for secret %s.", token, arn)
        return
    elif "AWSPENDING" not in versions[token]:
        raise ValueError(f"Secret version {token} not set as AWSPENDING for rotation of secret {arn}.")

    if os.environ.get("FAIL_STEP") == step:
        raise RuntimeError(f"rotation step {step} failed on purpose")
    if step == "createSecret":
        create_secret(service_client, arn, token)
    elif step == "setSecret":
        set_secret(service_client, arn, token)
    elif step == "testSecret":
        test_secret(service_client, arn, token)
    elif step == "finishSecret":
        finish_secret(service_client, arn, token)
    else:
        raise ValueError("Invalid step parameter")


def create_secret(service_client, arn, token):
    service_client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    try:
        service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("createSecret: Successfully retrieved secret for %s.", arn)
    except service_client.exceptions.ResourceNotFoundException:
        passwd = service_client.get_random_password(ExcludeCharacters="/@\"'\\")
        service_client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                        SecretString=passwd["RandomPassword"], VersionStages=["AWSPENDING"])
        logger.info("createSecret: Successfully put secret for ARN %s and version %s.", arn, token)


def set_secret(service_client, arn, token):
    pending = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    boto3.client("ssm").put_parameter(Name=os.environ["DATABASE_PARAMETER"], Value=pending["SecretString"],
                                      Type="SecureString", Overwrite=True)


def test_secret(service_client, arn, token):
    pending = service_client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    stored = boto3.client("ssm").get_parameter(Name=os.environ["DATABASE_PARAMETER"], WithDecryption=True)
    if stored["Parameter"]["Value"] != pending["SecretString"]:
        raise ValueError("the database does not accept the pending password")


def finish_secret(service_client, arn, token):
    metadata = service_client.describe_secret(SecretId=arn)
    current_version = None
    for version in metadata["VersionIdsToStages"]:
        if "AWSCURRENT" in metadata["VersionIdsToStages"][version]:
            if version == token:
                logger.info("finishSecret: Version %s already marked as AWSCURRENT for %s", version, arn)
                return
            current_version = version
            break
    service_client.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                               RemoveFromVersionId=current_version)
    logger.info("finishSecret: Successfully set AWSCURRENT stage to version %s for secret %s.", token, arn)
