"""AWS's facts about service-linked roles, per service principal: the role's name, the AWS
managed policy AWS attaches to it (path /aws-service-role/) and whether the service accepts a
CustomSuffix. CreateServiceLinkedRole builds every role from this table; a principal that is not
in it is refused, as AWS refuses a service that has no service-linked role.

Sources: AWS's recorded answers to CreateServiceLinkedRole / GetRole / ListAttachedRolePolicies
(LocalStack's AWS-validated snapshot tests/aws/services/iam/test_iam.snapshot.json,
TestIAMServiceRoles), the IAM User Guide's "AWS services that work with IAM" table and each
service's "Using service-linked roles" page (which also say which services take a custom suffix:
Auto Scaling, Amazon Connect and Amazon Lex V2 here).
"""

from __future__ import annotations

from typing import NamedTuple

from overcast.services.iam.policies import AWS_POLICY_PREFIX

POLICY_PATH = "/aws-service-role/"


class ServiceRole(NamedTuple):
    role_name: str
    policy_name: str
    custom_suffix: bool

    @property
    def policy_arn(self) -> str:
        return f"{AWS_POLICY_PREFIX}{POLICY_PATH}{self.policy_name}"


# service principal: (role name, AWS managed policy in /aws-service-role/, custom suffix accepted)
_FACTS: dict[str, tuple[str, str, bool]] = {
    "accountdiscovery.ssm.amazonaws.com": ("AWSServiceRoleForAmazonSSM_AccountDiscovery", "AWSSystemsManagerAccountDiscoveryServicePolicy", False),
    "acm.amazonaws.com": ("AWSServiceRoleForCertificateManager", "CertificateManagerServiceRolePolicy", False),
    "appmesh.amazonaws.com": ("AWSServiceRoleForAppMesh", "AWSAppMeshServiceRolePolicy", False),
    "autoscaling-plans.amazonaws.com": ("AWSServiceRoleForAutoScalingPlans_EC2AutoScaling", "AWSAutoScalingPlansEC2AutoScalingPolicy", False),
    "autoscaling.amazonaws.com": ("AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy", True),
    "backup.amazonaws.com": ("AWSServiceRoleForBackup", "AWSBackupServiceLinkedRolePolicyForBackup", False),
    "batch.amazonaws.com": ("AWSServiceRoleForBatch", "BatchServiceRolePolicy", False),
    "cassandra.application-autoscaling.amazonaws.com": ("AWSServiceRoleForApplicationAutoScaling_CassandraTable", "AWSApplicationAutoscalingCassandraTablePolicy", False),
    "cks.kms.amazonaws.com": ("AWSServiceRoleForKeyManagementServiceCustomKeyStores", "AWSKeyManagementServiceCustomKeyStoresServiceRolePolicy", False),
    "cloudtrail.amazonaws.com": ("AWSServiceRoleForCloudTrail", "CloudTrailServiceRolePolicy", False),
    "codestar-notifications.amazonaws.com": ("AWSServiceRoleForCodeStarNotifications", "AWSCodeStarNotificationsServiceRolePolicy", False),
    "config.amazonaws.com": ("AWSServiceRoleForConfig", "AWSConfigServiceRolePolicy", False),
    "connect.amazonaws.com": ("AWSServiceRoleForAmazonConnect", "AmazonConnectServiceLinkedRolePolicy", True),
    "dms-fleet-advisor.amazonaws.com": ("AWSServiceRoleForDMSFleetAdvisor", "AWSDMSFleetAdvisorServiceRolePolicy", False),
    "dms.amazonaws.com": ("AWSServiceRoleForDMSServerless", "AWSDMSServerlessServiceRolePolicy", False),
    "docdb-elastic.amazonaws.com": ("AWSServiceRoleForDocDB-Elastic", "AmazonDocDB-ElasticServiceRolePolicy", False),
    "ec2-instance-connect.amazonaws.com": ("AWSServiceRoleForEc2InstanceConnect", "Ec2InstanceConnectEndpoint", False),
    "ec2.application-autoscaling.amazonaws.com": ("AWSServiceRoleForApplicationAutoScaling_EC2SpotFleetRequest", "AWSApplicationAutoscalingEC2SpotFleetRequestPolicy", False),
    "ecr.amazonaws.com": ("AWSServiceRoleForECRTemplate", "ECRTemplateServiceRolePolicy", False),
    "ecs.amazonaws.com": ("AWSServiceRoleForECS", "AmazonECSServiceRolePolicy", False),
    "eks-connector.amazonaws.com": ("AWSServiceRoleForAmazonEKSConnector", "AmazonEKSConnectorServiceRolePolicy", False),
    "eks-fargate.amazonaws.com": ("AWSServiceRoleForAmazonEKSForFargate", "AmazonEKSForFargateServiceRolePolicy", False),
    "eks-nodegroup.amazonaws.com": ("AWSServiceRoleForAmazonEKSNodegroup", "AWSServiceRoleForAmazonEKSNodegroup", False),
    "eks.amazonaws.com": ("AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy", False),
    "elasticache.amazonaws.com": ("AWSServiceRoleForElastiCache", "ElastiCacheServiceRolePolicy", False),
    "elasticbeanstalk.amazonaws.com": ("AWSServiceRoleForElasticBeanstalk", "AWSElasticBeanstalkServiceRolePolicy", False),
    "elasticfilesystem.amazonaws.com": ("AWSServiceRoleForAmazonElasticFileSystem", "AmazonElasticFileSystemServiceRolePolicy", False),
    "elasticloadbalancing.amazonaws.com": ("AWSServiceRoleForElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy", False),
    "email.cognito-idp.amazonaws.com": ("AWSServiceRoleForAmazonCognitoIdpEmailService", "AmazonCognitoIdpEmailServiceRolePolicy", False),
    "emr-containers.amazonaws.com": ("AWSServiceRoleForAmazonEMRContainers", "AmazonEMRContainersServiceRolePolicy", False),
    "emrwal.amazonaws.com": ("AWSServiceRoleForEMRWAL", "EMRDescribeClusterPolicyForEMRWAL", False),
    "fis.amazonaws.com": ("AWSServiceRoleForFIS", "AmazonFISServiceRolePolicy", False),
    "grafana.amazonaws.com": ("AWSServiceRoleForAmazonGrafana", "AmazonGrafanaServiceLinkedRolePolicy", False),
    "imagebuilder.amazonaws.com": ("AWSServiceRoleForImageBuilder", "AWSServiceRoleForImageBuilder", False),
    "iotmanagedintegrations.amazonaws.com": ("AWSServiceRoleForIoTManagedIntegrations", "AWSIoTManagedIntegrationsRolePolicy", False),
    "kafka.amazonaws.com": ("AWSServiceRoleForKafka", "KafkaServiceRolePolicy", False),
    "kafkaconnect.amazonaws.com": ("AWSServiceRoleForKafkaConnect", "KafkaConnectServiceRolePolicy", False),
    "lakeformation.amazonaws.com": ("AWSServiceRoleForLakeFormationDataAccess", "LakeFormationDataAccessServiceRolePolicy", False),
    "lex.amazonaws.com": ("AWSServiceRoleForLexBots", "AmazonLexBotPolicy", False),
    "lexv2.amazonaws.com": ("AWSServiceRoleForLexV2Bots", "AmazonLexV2BotPolicy", True),
    "lightsail.amazonaws.com": ("AWSServiceRoleForLightsail", "LightsailExportAccess", False),
    "m2.amazonaws.com": ("AWSServiceRoleForAWSM2", "AWSM2ServicePolicy", False),
    "memorydb.amazonaws.com": ("AWSServiceRoleForMemoryDB", "MemoryDBServiceRolePolicy", False),
    "mq.amazonaws.com": ("AWSServiceRoleForAmazonMQ", "AmazonMQServiceRolePolicy", False),
    "mrk.kms.amazonaws.com": ("AWSServiceRoleForKeyManagementServiceMultiRegionKeys", "AWSKeyManagementServiceMultiRegionKeysServiceRolePolicy", False),
    "notifications.amazonaws.com": ("AWSServiceRoleForAwsUserNotifications", "AWSUserNotificationsServiceLinkedRolePolicy", False),
    "observability.aoss.amazonaws.com": ("AWSServiceRoleForAmazonOpenSearchServerless", "AmazonOpenSearchServerlessServiceRolePolicy", False),
    "opensearchservice.amazonaws.com": ("AWSServiceRoleForAmazonOpenSearchService", "AmazonOpenSearchServiceRolePolicy", False),
    "ops.apigateway.amazonaws.com": ("AWSServiceRoleForAPIGateway", "APIGatewayServiceRolePolicy", False),
    "ops.emr-serverless.amazonaws.com": ("AWSServiceRoleForAmazonEMRServerless", "AmazonEMRServerlessServiceRolePolicy", False),
    "opsdatasync.ssm.amazonaws.com": ("AWSServiceRoleForSystemsManagerOpsDataSync", "AWSSystemsManagerOpsDataSyncServiceRolePolicy", False),
    "opsinsights.ssm.amazonaws.com": ("AWSServiceRoleForAmazonSSM_OpsInsights", "AWSSSMOpsInsightsServiceRolePolicy", False),
    "pullthroughcache.ecr.amazonaws.com": ("AWSServiceRoleForECRPullThroughCache", "AWSECRPullThroughCache_ServiceRolePolicy", False),
    "ram.amazonaws.com": ("AWSServiceRoleForResourceAccessManager", "AWSResourceAccessManagerServiceRolePolicy", False),
    "rds.amazonaws.com": ("AWSServiceRoleForRDS", "AmazonRDSServiceRolePolicy", False),
    "redshift.amazonaws.com": ("AWSServiceRoleForRedshift", "AmazonRedshiftServiceLinkedRolePolicy", False),
    "replication.cassandra.amazonaws.com": ("AWSServiceRoleForKeyspacesReplication", "KeyspacesReplicationServiceRolePolicy", False),
    "replication.ecr.amazonaws.com": ("AWSServiceRoleForECRReplication", "ECRReplicationServiceRolePolicy", False),
    "repository.sync.codeconnections.amazonaws.com": ("AWSServiceRoleForGitSync", "AWSGitSyncServiceRolePolicy", False),
    "resource-explorer-2.amazonaws.com": ("AWSServiceRoleForResourceExplorer", "AWSResourceExplorerServiceRolePolicy", False),
    "rolesanywhere.amazonaws.com": ("AWSServiceRoleForRolesAnywhere", "AWSRolesAnywhereServicePolicy", False),
    "s3-outposts.amazonaws.com": ("AWSServiceRoleForS3OnOutposts", "AWSS3OnOutpostsServiceRolePolicy", False),
    "ses.amazonaws.com": ("AWSServiceRoleForAmazonSES", "AmazonSESServiceRolePolicy", False),
    "shield.amazonaws.com": ("AWSServiceRoleForAWSShield", "AWSShieldServiceRolePolicy", False),
    "ssm-incidents.amazonaws.com": ("AWSServiceRoleForIncidentManager", "AWSIncidentManagerServiceRolePolicy", False),
    "ssm-quicksetup.amazonaws.com": ("AWSServiceRoleForSSMQuickSetup", "SSMQuickSetupRolePolicy", False),
    "ssm.amazonaws.com": ("AWSServiceRoleForAmazonSSM", "AmazonSSMServiceRolePolicy", False),
    "sso.amazonaws.com": ("AWSServiceRoleForSSO", "AWSSSOServiceRolePolicy", False),
    "vpcorigin.cloudfront.amazonaws.com": ("AWSServiceRoleForCloudFrontVPCOrigin", "AWSCloudFrontVPCOriginServiceRolePolicy", False),
    "waf.amazonaws.com": ("AWSServiceRoleForWAFLogging", "WAFLoggingServiceRolePolicy", False),
    "wafv2.amazonaws.com": ("AWSServiceRoleForWAFV2Logging", "WAFV2LoggingServiceRolePolicy", False),
    # From each service's "Using service-linked roles" page (not in the recorded answers).
    "dynamodb.application-autoscaling.amazonaws.com": ("AWSServiceRoleForApplicationAutoScaling_DynamoDBTable", "AWSApplicationAutoscalingDynamoDBTablePolicy", False),
    "ecs.application-autoscaling.amazonaws.com": ("AWSServiceRoleForApplicationAutoScaling_ECSService", "AWSApplicationAutoscalingECSServicePolicy", False),
    "lambda.application-autoscaling.amazonaws.com": ("AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency", "AWSApplicationAutoscalingLambdaConcurrencyPolicy", False),
    "rds.application-autoscaling.amazonaws.com": ("AWSServiceRoleForApplicationAutoScaling_RDSCluster", "AWSApplicationAutoscalingRDSClusterPolicy", False),
    "es.amazonaws.com": ("AWSServiceRoleForAmazonElasticsearchService", "AmazonElasticsearchServiceRolePolicy", False),
    "spot.amazonaws.com": ("AWSServiceRoleForEC2Spot", "AWSEC2SpotServiceRolePolicy", False),
    "spotfleet.amazonaws.com": ("AWSServiceRoleForEC2SpotFleet", "AWSEC2SpotFleetServiceRolePolicy", False),
    "organizations.amazonaws.com": ("AWSServiceRoleForOrganizations", "AWSOrganizationsServiceTrustPolicy", False),
    "support.amazonaws.com": ("AWSServiceRoleForSupport", "AWSSupportServiceRolePolicy", False),
    "trustedadvisor.amazonaws.com": ("AWSServiceRoleForTrustedAdvisor", "AWSTrustedAdvisorServiceRolePolicy", False),
    "replicator.lambda.amazonaws.com": ("AWSServiceRoleForLambdaReplicator", "AWSLambdaReplicator", False),
    "elasticmapreduce.amazonaws.com": ("AWSServiceRoleForEMRCleanup", "AmazonEMRCleanupPolicy", False),
    "guardduty.amazonaws.com": ("AWSServiceRoleForAmazonGuardDuty", "AmazonGuardDutyServiceRolePolicy", False),
    "securityhub.amazonaws.com": ("AWSServiceRoleForSecurityHub", "AWSSecurityHubServiceRolePolicy", False),
    "events.amazonaws.com": ("AWSServiceRoleForCloudWatchEvents", "CloudWatchEventsServiceRolePolicy", False),
    "apprunner.amazonaws.com": ("AWSServiceRoleForAppRunner", "AppRunnerServiceRolePolicy", False),
    "transitgateway.amazonaws.com": ("AWSServiceRoleForVPCTransitGateway", "AWSVPCTransitGatewayServiceRolePolicy", False),
    "appsync.amazonaws.com": ("AWSServiceRoleForAppSync", "AWSAppSyncServiceRolePolicy", False),
    "cloud9.amazonaws.com": ("AWSServiceRoleForAWSCloud9", "AWSCloud9ServiceRolePolicy", False),
    "inspector2.amazonaws.com": ("AWSServiceRoleForAmazonInspector2", "AmazonInspector2ServiceRolePolicy", False),
    "macie.amazonaws.com": ("AWSServiceRoleForAmazonMacie", "AmazonMacieServiceRolePolicy", False),
    "access-analyzer.amazonaws.com": ("AWSServiceRoleForAccessAnalyzer", "AccessAnalyzerServiceRolePolicy", False),
    "fsx.amazonaws.com": ("AWSServiceRoleForAmazonFSx", "AmazonFSxServiceRolePolicy", False),
}

SERVICE_ROLES: dict[str, ServiceRole] = {principal: ServiceRole(*facts) for principal, facts in _FACTS.items()}

# The AWS managed policies these roles use, by ARN, so that GetPolicy and ListPolicies know them.
SERVICE_ROLE_POLICY_ARNS: frozenset[str] = frozenset(role.policy_arn for role in SERVICE_ROLES.values())
