"""The AWS CDK app that deploys provider-accounts (not part of the runtime image)."""
