"""AWS WAF in front of the API stage: per-IP rate limits and AWS managed rule groups, logged.

The public routes take invoice numbers with access codes, so a per-IP limit makes guessing
slow even from one address; API Gateway throttling alone is per stage, not per client. The
Stripe webhook is left out of the content rules (a false positive there would drop payment
events; it is authenticated by its signature) but not out of the IP reputation list.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_wafv2 as waf
from constructs import Construct

from therabill_infra.logs import LogGroups

REQUESTS_PER_IP_5_MIN = 1000
PUBLIC_REQUESTS_PER_IP_5_MIN = 100
RATE_WINDOW_SECONDS = 300


def _visibility(metric: str) -> waf.CfnWebACL.VisibilityConfigProperty:
    return waf.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _path_match(constraint: str, text: str) -> waf.CfnWebACL.StatementProperty:
    return waf.CfnWebACL.StatementProperty(
        byte_match_statement=waf.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=waf.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint=constraint,
            search_string=text,
            text_transformations=[waf.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )


def _any_of(statements: Sequence[waf.CfnWebACL.StatementProperty]) -> waf.CfnWebACL.StatementProperty:
    if len(statements) == 1:
        return statements[0]
    return waf.CfnWebACL.StatementProperty(
        or_statement=waf.CfnWebACL.OrStatementProperty(statements=list(statements))
    )


def _not(statement: waf.CfnWebACL.StatementProperty) -> waf.CfnWebACL.StatementProperty:
    return waf.CfnWebACL.StatementProperty(
        not_statement=waf.CfnWebACL.NotStatementProperty(statement=statement)
    )


def _managed(
    name: str,
    priority: int,
    *,
    scope_down: waf.CfnWebACL.StatementProperty | None = None,
    count_only: Sequence[str] = (),
) -> waf.CfnWebACL.RuleProperty:
    return waf.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=waf.CfnWebACL.OverrideActionProperty(none={}),
        statement=waf.CfnWebACL.StatementProperty(
            managed_rule_group_statement=waf.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                scope_down_statement=scope_down,
                rule_action_overrides=[
                    waf.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=waf.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in count_only
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def _rate_limit(
    name: str, priority: int, limit: int, scope_down: waf.CfnWebACL.StatementProperty
) -> waf.CfnWebACL.RuleProperty:
    return waf.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=waf.CfnWebACL.RuleActionProperty(block={}),
        statement=waf.CfnWebACL.StatementProperty(
            rate_based_statement=waf.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=limit,
                evaluation_window_sec=RATE_WINDOW_SECONDS,
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(name),
    )


class Firewall(Construct):
    web_acl: waf.CfnWebACL

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        stage_arn: str,
        stage_name: str,
        public_prefixes: Sequence[str],
        webhook_path: str,
        log_groups: LogGroups,
    ) -> None:
        super().__init__(scope, construct_id)
        # Paths as WAF sees them: with the stage prefix on the execute-api URL, without it behind
        # a custom domain mapped at the root.
        webhook = _path_match("ENDS_WITH", webhook_path)
        public = _any_of(
            [_path_match("STARTS_WITH", f"/{stage_name}{prefix}") for prefix in public_prefixes]
            + [_path_match("STARTS_WITH", prefix) for prefix in public_prefixes]
        )
        name = f"therabill-{stage}"
        self.web_acl = waf.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope="REGIONAL",
            description=f"Therabill {stage}: API rate limits and managed rules",
            default_action=waf.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=[
                _rate_limit("PublicRoutesPerIp", 0, PUBLIC_REQUESTS_PER_IP_5_MIN, public),
                _rate_limit("AllRoutesPerIp", 1, REQUESTS_PER_IP_5_MIN, _not(webhook)),
                _managed("AWSManagedRulesAmazonIpReputationList", 2),
                _managed("AWSManagedRulesKnownBadInputsRuleSet", 3, scope_down=_not(webhook)),
                # Large request bodies (remittance uploads) are counted, not blocked.
                _managed(
                    "AWSManagedRulesCommonRuleSet",
                    4,
                    scope_down=_not(webhook),
                    count_only=("SizeRestrictions_BODY",),
                ),
            ],
        )
        waf.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )

        # WAF delivers only to log groups whose name starts with aws-waf-logs-.
        log_group_name = f"aws-waf-logs-therabill-{stage}"
        log_group = log_groups.log_group(self, "Logs", name=log_group_name)
        logging = waf.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # Tokens, access codes and ids in paths never reach the WAF logs.
            redacted_fields=[
                waf.CfnLoggingConfiguration.FieldToMatchProperty(uri_path={}),
                waf.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
                waf.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "cookie"}),
                waf.CfnLoggingConfiguration.FieldToMatchProperty(query_string={}),
            ],
        )
        logging.node.add_dependency(log_group)
