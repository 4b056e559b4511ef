"""The synthesised stack's security properties, and its match with bootstrap's resources."""

from __future__ import annotations

from typing import Any

from aws_cdk import assertions

from core import resources
from core.adapters.key_layout import LICENSE_INDEX
from tests.infra.conftest import resources_of

Match = assertions.Match


def single(template_json: dict[str, Any], kind: str) -> dict[str, Any]:
    """The properties of the one resource of `kind`."""
    found = resources_of(template_json, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))


def table_named(template_json: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The table whose name ends with `suffix`."""
    tables = resources_of(template_json, "AWS::DynamoDB::Table").values()
    matches = [t for t in tables if t["TableName"].endswith(suffix)]
    assert len(matches) == 1, f"tables: {[t['TableName'] for t in tables]}"
    return matches[0]


def test_both_tables_are_the_ones_bootstrap_creates(template_json):
    # Given the shared definitions bootstrap creates the local tables from
    for suffix, definition in (
        ("-providers", resources.PROVIDER_TABLE),
        ("-rate-limits", resources.RATE_LIMIT_TABLE),
    ):
        request = definition.create_table_request("unused")
        # When the stack's table is read
        table = table_named(template_json, suffix)
        # Then keys, attributes and indexes are the same, billing is on demand
        assert table["KeySchema"] == request["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            request["AttributeDefinitions"], key=str
        )
        assert table.get("GlobalSecondaryIndexes", []) == request.get("GlobalSecondaryIndexes", [])
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        # And they are recoverable to a point in time and cannot be deleted by accident
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionProtectionEnabled"] is True
    assert table_named(template_json, "-providers")["GlobalSecondaryIndexes"][0]["IndexName"] == (
        LICENSE_INDEX
    )


def test_attempt_counts_expire_through_ttl(template_json):
    assert table_named(template_json, "-rate-limits")["TimeToLiveSpecification"] == {
        "AttributeName": resources.RATE_LIMIT_TABLE.ttl_attribute,
        "Enabled": True,
    }
    assert "TimeToLiveSpecification" not in table_named(template_json, "-providers")


def test_tables_and_pool_survive_a_stack_deletion(template):
    for kind in ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool"):
        template.all_resources(kind, {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})


def test_the_user_pool_requires_totp_mfa_and_admits_no_self_sign_up(template_json):
    pool = single(template_json, "AWS::Cognito::UserPool")
    assert pool["MfaConfiguration"] == resources.MFA_CONFIGURATION == "ON"
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["DeletionProtection"] == "ACTIVE"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"] == {"PasswordPolicy": resources.PASSWORD_POLICY}
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    # The custom attributes are exactly bootstrap's
    assert sorted(pool["Schema"], key=lambda a: a["Name"]) == sorted(
        resources.user_pool_schema(), key=lambda a: a["Name"]
    )


def test_the_app_client_has_the_local_stacks_flows_and_no_secret(template_json):
    client = single(template_json, "AWS::Cognito::UserPoolClient")
    assert client["ClientName"] == resources.CLIENT_NAME
    assert client["ExplicitAuthFlows"] == list(resources.AUTH_FLOWS)
    assert client["GenerateSecret"] is False
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert "AllowedOAuthFlows" not in client


def test_waf_rate_limits_per_ip_and_applies_the_common_rules_on_the_load_balancer(template):
    template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "REGIONAL",
            "Rules": [
                Match.object_like(
                    {
                        "Name": "RatePerIp",
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {
                                "AggregateKeyType": "IP",
                                "Limit": {"Ref": "WafRequestsPer5Min"},
                            }
                        },
                    }
                ),
                Match.object_like(
                    {
                        "Statement": {
                            "ManagedRuleGroupStatement": {
                                "VendorName": "AWS",
                                "Name": "AWSManagedRulesCommonRuleSet",
                            }
                        }
                    }
                ),
            ],
        },
    )
    acl = template.find_resources("AWS::WAFv2::WebACL")
    alb = template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
    template.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {
            "ResourceArn": {"Ref": next(iter(alb))},
            "WebACLArn": {"Fn::GetAtt": [next(iter(acl)), "Arn"]},
        },
    )


def test_the_listener_is_https_with_the_certificate_parameter(template):
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Protocol": "HTTPS", "Certificates": [{"CertificateArn": {"Ref": "CertificateArn"}}]},
    )
    # Plain HTTP only redirects
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTP",
            "DefaultActions": [Match.object_like({"Type": "redirect"})],
        },
    )


def test_the_target_group_checks_liveness_not_readiness(template):
    # ECS replaces tasks the load balancer finds unhealthy: a dependency check there would
    # cycle every task whenever DynamoDB or Cognito blips.
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": "/v1/health", "Matcher": {"HttpCode": "200"}},
    )


def test_tasks_scale_on_cpu_and_on_requests_per_target(template_json):
    policies = resources_of(template_json, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    metrics = sorted(
        p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in policies
    )
    assert metrics == ["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]


def container(template_json: dict[str, Any]) -> dict[str, Any]:
    definitions = single(template_json, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    assert len(definitions) == 1
    return definitions[0]


def test_the_recaptcha_secret_comes_from_secrets_manager_never_plain_environment(template_json):
    web = container(template_json)
    environment = {e["Name"]: e["Value"] for e in web["Environment"]}
    assert "RECAPTCHA_SECRET" not in environment
    assert [s["Name"] for s in web["Secrets"]] == ["RECAPTCHA_SECRET"]
    assert "secretsmanager" in str(web["Secrets"][0]["ValueFrom"])


def test_the_container_runs_in_aws_mode_behind_the_load_balancer(template_json):
    environment = {e["Name"]: e["Value"] for e in container(template_json)["Environment"]}
    assert environment["APP_ENV"] == "aws"
    assert environment["MAIL_BACKEND"] == "ses"
    [vpc] = resources_of(template_json, "AWS::EC2::VPC")
    assert environment["FORWARDED_ALLOW_IPS"] == {"Fn::GetAtt": [vpc, "CidrBlock"]}
    assert environment["RATE_LIMIT_STORAGE_URI"]["Fn::Join"][1][0] == "rediss://"
    assert environment["UI_BASE_URL"] == {"Ref": "UiBaseUrl"}


def test_a_stopping_task_has_time_to_drain_its_background_work(template_json):
    import runpy
    from pathlib import Path

    from infra.stack import STOP_TIMEOUT_SECONDS

    gunicorn_conf = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    graceful = runpy.run_path(str(gunicorn_conf))["graceful_timeout"]
    assert container(template_json)["StopTimeout"] == STOP_TIMEOUT_SECONDS
    assert graceful < STOP_TIMEOUT_SECONDS


def test_redis_is_reachable_only_from_the_service(template_json):
    group = single(template_json, "AWS::ElastiCache::ReplicationGroup")
    assert group["TransitEncryptionEnabled"] is True
    assert group["AtRestEncryptionEnabled"] is True
    [redis_sg] = group["SecurityGroupIds"]
    redis_sg_id = redis_sg["Fn::GetAtt"][0]
    ingress = [
        rule
        for rule in resources_of(template_json, "AWS::EC2::SecurityGroupIngress").values()
        if rule["GroupId"] == {"Fn::GetAtt": [redis_sg_id, "GroupId"]}
    ]
    service = single(template_json, "AWS::ECS::Service")
    [service_sg] = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    assert [(r["SourceSecurityGroupId"], r["FromPort"], r["ToPort"]) for r in ingress] == [
        (service_sg, 6379, 6379)
    ]
    inline = template_json["Resources"][redis_sg_id]["Properties"]
    assert "SecurityGroupIngress" not in inline


def test_logs_are_kept_and_outcomes_become_metrics(template_json):
    log_group = single(template_json, "AWS::Logs::LogGroup")
    assert log_group["RetentionInDays"] == 90
    patterns = {
        f["MetricTransformations"][0]["MetricName"]: f["FilterPattern"]
        for f in resources_of(template_json, "AWS::Logs::MetricFilter").values()
    }
    assert patterns == {
        "UpstreamErrors": '{ $.outcome = "upstream_error" }',
        "RateLimited": '{ $.outcome = "rate_limited" }',
        "WorkLatencyMs": "{ $.work_ms >= 0 }",
    }


def test_alarms_watch_errors_unhealthy_tasks_and_latency_before_floors(template_json):
    alarms = resources_of(template_json, "AWS::CloudWatch::Alarm")
    described = sorted(a["AlarmDescription"] for a in alarms.values())
    assert described == [
        "5xx answers, % of requests",
        "AWS calls failing under recovery or registration",
        "p99 of the time requests take before their response-time floor",
        "tasks failing the load balancer's /v1/health check",
    ]
    for alarm in alarms.values():
        assert len(alarm["AlarmActions"]) == 1
    latency = next(a for a in alarms.values() if a["AlarmDescription"].startswith("p99"))
    assert latency["MetricName"] == "WorkLatencyMs"
    assert latency["ExtendedStatistic"] == "p99"
    assert single(template_json, "AWS::CloudWatch::Dashboard")


def test_mail_goes_through_a_configuration_set_that_reports_bounces_and_complaints(template):
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "EventDestination": Match.object_like(
                {"MatchingEventTypes": Match.array_with(["bounce", "complaint"]), "Enabled": True}
            )
        },
    )
    template.has_resource_properties(
        "AWS::SES::EmailIdentity", {"EmailIdentity": {"Ref": "MailDomain"}}
    )
