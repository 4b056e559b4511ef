"""ElastiCache Redis for the per-IP limits every task shares, reachable only from the service."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from constructs import Construct

REDIS_PORT = 6379


class SharedLimits(Construct):
    """A two-node, encrypted Redis replication group in the private subnets."""

    def __init__(self, scope: Construct, construct_id: str, vpc: ec2.IVpc) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Redis of the per-IP limits - reached by the service tasks only",
            allow_all_outbound=False,
        )
        subnets = elasticache.CfnSubnetGroup(
            self,
            "Subnets",
            description="private subnets of provider-accounts",
            subnet_ids=vpc.select_subnets(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            ).subnet_ids,
        )
        self.group = elasticache.CfnReplicationGroup(
            self,
            "Redis",
            replication_group_description="provider-accounts shared per-IP limits",
            engine="redis",
            cache_node_type="cache.t4g.micro",
            num_cache_clusters=2,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            transit_encryption_enabled=True,
            at_rest_encryption_enabled=True,
            port=REDIS_PORT,
            cache_subnet_group_name=subnets.ref,
            security_group_ids=[self.security_group.security_group_id],
        )

    def allow_from(self, peer: ec2.IConnectable) -> None:
        """Let `peer` (the service) reach Redis; nothing else can."""
        self.security_group.connections.allow_from(
            peer, ec2.Port.tcp(REDIS_PORT), "the service's tasks"
        )

    @property
    def uri(self) -> str:
        """RATE_LIMIT_STORAGE_URI: TLS, and a short timeout so a hung Redis cannot stall."""
        address = self.group.attr_primary_end_point_address
        port = self.group.attr_primary_end_point_port
        return f"rediss://{address}:{port}?socket_timeout=1"
