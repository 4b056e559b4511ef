"""The stateful pieces: both tables and the user pool, from the definitions bootstrap uses."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from core import resources
from core.resources import Table


def table(scope: Construct, construct_id: str, name: str, definition: Table) -> dynamodb.Table:
    """A table from its shared definition: on demand, recoverable to a point in time, kept."""
    string = dynamodb.AttributeType.STRING
    created = dynamodb.Table(
        scope,
        construct_id,
        table_name=name,
        partition_key=dynamodb.Attribute(name=definition.partition_key, type=string),
        sort_key=dynamodb.Attribute(name=definition.sort_key, type=string),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        time_to_live_attribute=definition.ttl_attribute,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    for index in definition.indexes:
        created.add_global_secondary_index(
            index_name=index.name,
            partition_key=dynamodb.Attribute(name=index.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=index.sort_key, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return created


def user_pool(scope: Construct, environment: str) -> cognito.UserPool:
    """The pool: admin-created users only, TOTP MFA required, the shared password policy."""
    policy = resources.PASSWORD_POLICY
    return cognito.UserPool(
        scope,
        "UserPool",
        user_pool_name=f"{resources.POOL_NAME}-{environment}",
        self_sign_up_enabled=False,
        mfa=cognito.Mfa.REQUIRED,
        mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
        password_policy=cognito.PasswordPolicy(
            min_length=policy["MinimumLength"],
            require_uppercase=policy["RequireUppercase"],
            require_lowercase=policy["RequireLowercase"],
            require_digits=policy["RequireNumbers"],
            require_symbols=policy["RequireSymbols"],
            temp_password_validity=cdk.Duration.days(policy["TemporaryPasswordValidityDays"]),
        ),
        sign_in_case_sensitive=False,
        custom_attributes={
            name: cognito.StringAttribute(
                min_len=1, max_len=resources.CUSTOM_ATTRIBUTE_MAX_LENGTH, mutable=False
            )
            for name in resources.CUSTOM_ATTRIBUTES
        },
        # No password reset by email: whoever reads the mailbox could then pass the password
        # check of this service's recovery, whose link goes to the same mailbox. A provider
        # changes the password signed in (the account page), or asks support.
        account_recovery=cognito.AccountRecovery.NONE,
        deletion_protection=True,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def app_client(pool: cognito.UserPool) -> cognito.UserPoolClient:
    """The web app client: no secret, no hosted-UI OAuth, the local stack's auth flows."""
    client = pool.add_client(
        "WebClient",
        user_pool_client_name=resources.CLIENT_NAME,
        generate_secret=False,
        disable_o_auth=True,
        prevent_user_existence_errors=True,
    )
    cfn_client = client.node.default_child
    assert isinstance(cfn_client, cognito.CfnUserPoolClient)  # noqa: S101 - CDK's own construct
    cfn_client.explicit_auth_flows = list(resources.AUTH_FLOWS)
    return client
