"""One stack per environment: data, identity, mail, the service behind a load balancer, alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from constructs import Construct

from core import resources
from infra import data, edge, iam, monitoring
from infra.cache import SharedLimits

CONTAINER_PORT = 8000
# ECS's longest wait between SIGTERM and SIGKILL; above gunicorn's graceful_timeout.
STOP_TIMEOUT_SECONDS = 120


class ProviderAccountsStack(cdk.Stack):
    """Everything provider-accounts needs in one account and region, named by environment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        min_tasks: int = 2,
        max_tasks: int = 10,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        prefix = f"provider-accounts-{environment_name}"
        params = _Parameters(self)

        provider_table = data.table(
            self, "ProviderTable", f"{prefix}-providers", resources.PROVIDER_TABLE
        )
        rate_limit_table = data.table(
            self, "RateLimitTable", f"{prefix}-rate-limits", resources.RATE_LIMIT_TABLE
        )
        pool = data.user_pool(self, environment_name)
        client = data.app_client(pool)

        # Bounces and complaints go to a topic: a provider whose mail bounces cannot recover.
        mail_events = sns.Topic(self, "MailEvents", display_name=f"{prefix} SES bounces")
        configuration_set = ses.ConfigurationSet(
            self, "MailConfigurationSet", configuration_set_name=prefix
        )
        configuration_set.add_event_destination(
            "BouncesAndComplaints",
            destination=ses.EventDestination.sns_topic(mail_events),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        ses.EmailIdentity(
            self,
            "MailIdentity",
            identity=ses.Identity.domain(params.mail_domain),
            configuration_set=configuration_set,
        )

        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        redis = SharedLimits(self, "SharedLimits", vpc)
        log_group = logs.LogGroup(
            self,
            "ServiceLogs",
            log_group_name=f"/{prefix}/service",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        recaptcha = secretsmanager.Secret.from_secret_name_v2(
            self, "RecaptchaSecret", params.recaptcha_secret_name
        )
        task_role = iam.task_role(
            self,
            {
                "provider_table": provider_table.table_arn,
                "license_index": f"{provider_table.table_arn}/index/{resources.LICENSE_INDEX}",
                "rate_limit_table": rate_limit_table.table_arn,
                "user_pool": pool.user_pool_arn,
                "mail_identity": self.format_arn(
                    service="ses", resource="identity", resource_name=params.mail_domain
                ),
                "mail_configuration_set": self.format_arn(
                    service="ses",
                    resource="configuration-set",
                    resource_name=configuration_set.configuration_set_name,
                ),
            },
        )
        service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=ecs.Cluster(
                self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
            ),
            cpu=1024,
            memory_limit_mib=2048,
            desired_count=min_tasks,
            min_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            certificate=acm.Certificate.from_certificate_arn(
                self, "Certificate", params.certificate_arn
            ),
            protocol=elbv2.ApplicationProtocol.HTTPS,
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            redirect_http=True,
            public_load_balancer=True,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_registry(params.image_uri),
                container_port=CONTAINER_PORT,
                task_role=task_role,
                log_driver=ecs.LogDrivers.aws_logs(stream_prefix="service", log_group=log_group),
                environment={
                    "APP_ENV": "aws",
                    "PORT": str(CONTAINER_PORT),
                    "AWS_REGION": self.region,
                    "PROVIDER_TABLE": provider_table.table_name,
                    "RATE_LIMIT_TABLE": rate_limit_table.table_name,
                    "USER_POOL_ID": pool.user_pool_id,
                    "USER_POOL_CLIENT_ID": client.user_pool_client_id,
                    "MAIL_BACKEND": "ses",
                    "MAIL_FROM": f"Provider Accounts <no-reply@{params.mail_domain}>",
                    "MAIL_CONFIGURATION_SET": configuration_set.configuration_set_name,
                    "UI_BASE_URL": params.ui_base_url,
                    "CORS_ALLOWED_ORIGINS": params.cors_allowed_origins,
                    "RATE_LIMIT_STORAGE_URI": redis.uri,
                    # Only the load balancer (inside the VPC) may say who the client is.
                    "FORWARDED_ALLOW_IPS": vpc.vpc_cidr_block,
                    "LOG_FORMAT": "json",
                },
                # Injected by ECS from Secrets Manager: never plain text in the task definition.
                secrets={"RECAPTCHA_SECRET": ecs.Secret.from_secrets_manager(recaptcha)},
            ),
        )
        # ECS replaces every task its load balancer finds unhealthy, so the check is liveness:
        # a deep one (/v1/ready) would cycle the whole fleet whenever DynamoDB or Cognito
        # blips, dropping the background work each task still holds. A task that never starts
        # is rolled back by the circuit breaker; failing AWS calls raise the upstream alarm.
        service.target_group.configure_health_check(
            path="/v1/health",
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(15),
            healthy_threshold_count=2,
            unhealthy_threshold_count=3,
        )
        # A stopping task first lets gunicorn drain: requests waiting out their floors, then
        # the background work already answered 200 (gunicorn.conf.py's graceful_timeout).
        service.task_definition.node.default_child.add_property_override(  # type: ignore[union-attr]
            "ContainerDefinitions.0.StopTimeout", STOP_TIMEOUT_SECONDS
        )
        redis.allow_from(service.service)
        scaling = service.service.auto_scale_task_count(
            min_capacity=min_tasks, max_capacity=max_tasks
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        scaling.scale_on_request_count(
            "Requests", requests_per_target=600, target_group=service.target_group
        )
        edge.web_acl(self, prefix, service.load_balancer, params.waf_requests_per_5_min)

        alarm_topic = sns.Topic(self, "Alarms", display_name=f"{prefix} alarms")
        metrics = monitoring.log_metrics(log_group, f"ProviderAccounts/{environment_name}")
        alarm_list = monitoring.alarms(
            self, service.load_balancer, service.target_group, metrics, alarm_topic
        )
        monitoring.dashboard(self, prefix, service.load_balancer, metrics, alarm_list)

        cdk.CfnOutput(
            self, "ApiUrl", value=f"https://{service.load_balancer.load_balancer_dns_name}"
        )
        cdk.CfnOutput(self, "UserPoolId", value=pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=client.user_pool_client_id)
        cdk.CfnOutput(self, "ProviderTableName", value=provider_table.table_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=alarm_topic.topic_arn)
        cdk.CfnOutput(self, "MailEventsTopicArn", value=mail_events.topic_arn)


class _Parameters:
    """The stack's CloudFormation parameters (`cdk deploy --parameters Name=value`)."""

    def __init__(self, stack: cdk.Stack) -> None:
        def text(name: str, description: str, **options: object) -> str:
            return cdk.CfnParameter(
                stack,
                name,
                type="String",
                description=description,
                **options,  # type: ignore[arg-type]
            ).value_as_string

        self.image_uri = text("ImageUri", "The service image (make image, pushed to ECR)")
        self.certificate_arn = text("CertificateArn", "ACM certificate of the HTTPS listener")
        self.mail_domain = text("MailDomain", "The SES sending domain (MAIL_FROM's domain)")
        self.ui_base_url = text(
            "UiBaseUrl",
            "The frontend's https base URL for email links",
            allowed_pattern="https://.+",
        )
        self.cors_allowed_origins = text(
            "CorsAllowedOrigins", "Origins allowed to call the API from a browser (comma-separated)"
        )
        self.recaptcha_secret_name = text(
            "RecaptchaKeyName", "Name of the Secrets Manager secret holding the reCAPTCHA key"
        )
        self.waf_requests_per_5_min = cdk.CfnParameter(
            stack,
            "WafRequestsPer5Min",
            type="Number",
            default=500,
            min_value=100,
            description="Requests one IP may make in 5 minutes before WAF blocks it",
        ).value_as_number
