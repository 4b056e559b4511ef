"""CloudWatch: metrics from the service's JSON log lines, alarms, and a small dashboard."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

ONE_MINUTE = cdk.Duration.minutes(1)
# An alarm fires when 3 of the last 5 minutes breach: one bad minute is noise.
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3


@dataclass(frozen=True)
class Thresholds:
    """What counts as trouble."""

    server_error_percent: float = 5.0
    upstream_errors_per_minute: float = 3.0
    p99_work_ms: float = 2000.0


def log_metrics(log_group: logs.LogGroup, namespace: str) -> dict[str, cloudwatch.Metric]:
    """Metric filters on the outcome and request lines (core/outcomes.py, the request log)."""
    filters = {
        "UpstreamErrors": logs.FilterPattern.string_value("$.outcome", "=", "upstream_error"),
        "RateLimited": logs.FilterPattern.string_value("$.outcome", "=", "rate_limited"),
    }
    metrics: dict[str, cloudwatch.Metric] = {}
    for name, pattern in filters.items():
        log_group.add_metric_filter(
            name,
            filter_pattern=pattern,
            metric_namespace=namespace,
            metric_name=name,
            metric_value="1",
            default_value=0,
        )
        metrics[name] = cloudwatch.Metric(
            namespace=namespace, metric_name=name, statistic="Sum", period=ONE_MINUTE
        )
    # work_ms is each request's time before its response-time floor: the floors make every
    # account operation take seconds on purpose, so the latency that can go wrong is this one.
    log_group.add_metric_filter(
        "WorkLatency",
        filter_pattern=logs.FilterPattern.number_value("$.work_ms", ">=", 0),
        metric_namespace=namespace,
        metric_name="WorkLatencyMs",
        metric_value="$.work_ms",
        unit=cloudwatch.Unit.MILLISECONDS,
    )
    metrics["WorkLatencyMs"] = cloudwatch.Metric(
        namespace=namespace, metric_name="WorkLatencyMs", statistic="p99", period=ONE_MINUTE
    )
    return metrics


def alarms(
    scope: Construct,
    load_balancer: elbv2.ApplicationLoadBalancer,
    target_group: elbv2.ApplicationTargetGroup,
    metrics: dict[str, cloudwatch.Metric],
    topic: sns.ITopic,
    thresholds: Thresholds | None = None,
) -> list[cloudwatch.Alarm]:
    """Alarms on 5xx rate, upstream errors, unhealthy tasks and p99 latency without floors."""
    limits = thresholds or Thresholds()
    requests = load_balancer.metrics.request_count(period=ONE_MINUTE)
    server_errors = target_group.metrics.http_code_target(
        elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=ONE_MINUTE
    )
    error_rate = cloudwatch.MathExpression(
        expression="IF(requests > 0, 100 * errors / requests, 0)",
        using_metrics={"requests": requests, "errors": server_errors},
        label="5xx %",
        period=ONE_MINUTE,
    )
    specs = [
        ("ServerErrorRate", error_rate, limits.server_error_percent, "5xx answers, % of requests"),
        (
            "UpstreamErrors",
            metrics["UpstreamErrors"],
            limits.upstream_errors_per_minute,
            "AWS calls failing under recovery or registration",
        ),
        (
            "UnhealthyTasks",
            target_group.metrics.unhealthy_host_count(period=ONE_MINUTE, statistic="Maximum"),
            1,
            "tasks failing the load balancer's /v1/health check",
        ),
        (
            "WorkLatencyP99",
            metrics["WorkLatencyMs"],
            limits.p99_work_ms,
            "p99 of the time requests take before their response-time floor",
        ),
    ]
    created = []
    for name, metric, threshold, description in specs:
        alarm = cloudwatch.Alarm(
            scope,
            name,
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=DATAPOINTS_TO_ALARM,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        created.append(alarm)
    return created


def dashboard(
    scope: Construct,
    name: str,
    load_balancer: elbv2.ApplicationLoadBalancer,
    metrics: dict[str, cloudwatch.Metric],
    alarm_list: list[cloudwatch.Alarm],
) -> cloudwatch.Dashboard:
    """Traffic, errors, limits and latency on one page, with the alarms' states."""
    board = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=name)
    board.add_widgets(
        cloudwatch.GraphWidget(
            title="Requests and 5xx",
            left=[
                load_balancer.metrics.request_count(period=ONE_MINUTE),
                load_balancer.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=ONE_MINUTE
                ),
            ],
        ),
        cloudwatch.GraphWidget(
            title="Upstream errors and rate limiting",
            left=[metrics["UpstreamErrors"], metrics["RateLimited"]],
        ),
        cloudwatch.GraphWidget(title="p99 latency before floors", left=[metrics["WorkLatencyMs"]]),
        cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarm_list),
    )
    return board
