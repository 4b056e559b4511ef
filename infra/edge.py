"""WAF on the load balancer: a per-IP rate rule before AWS's managed common rules."""

from __future__ import annotations

from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_wafv2 as waf
from constructs import Construct


def _visibility(name: str) -> waf.CfnWebACL.VisibilityConfigProperty:
    return waf.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def web_acl(
    scope: Construct,
    name: str,
    load_balancer: elbv2.ApplicationLoadBalancer,
    requests_per_5_min: int | float,
) -> waf.CfnWebACL:
    """A regional web ACL attached to the load balancer.

    The service's own per-IP limits stay in force; this rule stops floods before they reach a
    task (and before they cost argon2 hashes or Cognito calls).
    """
    rate_rule = waf.CfnWebACL.RuleProperty(
        name="RatePerIp",
        priority=0,
        action=waf.CfnWebACL.RuleActionProperty(block={}),
        statement=waf.CfnWebACL.StatementProperty(
            rate_based_statement=waf.CfnWebACL.RateBasedStatementProperty(
                limit=requests_per_5_min, aggregate_key_type="IP"
            )
        ),
        visibility_config=_visibility("RatePerIp"),
    )
    common_rules = waf.CfnWebACL.RuleProperty(
        name="AWSManagedRulesCommonRuleSet",
        priority=1,
        override_action=waf.CfnWebACL.OverrideActionProperty(none={}),
        statement=waf.CfnWebACL.StatementProperty(
            managed_rule_group_statement=waf.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name="AWSManagedRulesCommonRuleSet"
            )
        ),
        visibility_config=_visibility("AWSManagedRulesCommonRuleSet"),
    )
    acl = waf.CfnWebACL(
        scope,
        "WebAcl",
        name=name,
        scope="REGIONAL",
        default_action=waf.CfnWebACL.DefaultActionProperty(allow={}),
        rules=[rate_rule, common_rules],
        visibility_config=_visibility(name),
    )
    waf.CfnWebACLAssociation(
        scope,
        "WebAclAssociation",
        resource_arn=load_balancer.load_balancer_arn,
        web_acl_arn=acl.attr_arn,
    )
    return acl
