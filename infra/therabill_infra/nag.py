"""cdk-nag wiring.

cdk-nag 3 runs its packs as CDK policy-validation plugins (``Validations.of(app).add_plugins``);
a finding fails ``synth`` with a validation report. A finding is acknowledged on the construct
that causes it, with its reason, through ``Validations.of(construct).acknowledge`` (the v3
replacement for ``NagSuppressions.add_resource_suppressions``). Nothing here acknowledges a rule
for a whole stack.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import IConstruct


def add_nag_checks(scope: IConstruct) -> None:
    """Run the AWS Solutions and HIPAA Security packs over everything under ``scope``."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), HIPAASecurityChecks(scope))


def acknowledge(construct: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge findings of ``rule_ids`` on ``construct`` (and its children), for ``reason``.

    A finding with a detail (IAM wildcards, managed policies) is named ``Rule[Detail]``,
    e.g. ``AwsSolutions-IAM5[Resource::*]``; each one must be listed.
    """
    if len(reason.strip()) < 20:
        raise ValueError("a cdk-nag acknowledgement needs a real reason")
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule in rule_ids))
