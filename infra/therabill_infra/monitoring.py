"""Monitoring: the alarms that tell the operators something broke, and one dashboard.

Every alarm notifies the operators' SNS topic (the ``OperatorAlarmsTopic`` output; the queues
construct owns it, with the dead-letter queues' alarms). Here:

* each function's errors and throttles (any in five minutes);
* the REST API's 5xx rate (staff, public and webhook routes share the one API): at least 5% of
  the requests of five minutes, once there are at least 10 requests;
* the Stripe events waiting: the oldest message on the queue older than 15 minutes (the worker
  applies an event within seconds; a deferred one waits one visibility timeout, six minutes);
* a practice's nightly run not done two hours after its cutoff: the nightly sweep (every 15
  minutes) counts such runs in the business metric ``NightlyRunsOverdue``;
* an audit trail item overwritten or removed other than by TTL: the audit archive counts it in
  ``AuditItemsChanged``.

The business metrics (namespace ``contract.METRICS_NAMESPACE``, dimension ``service``) are written
by the functions through Powertools (EMF); the dashboard shows them beside the platform's own.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from therabill_infra.contract import contract
from therabill_infra.functions import construct_name

PERIOD = Duration.minutes(5)
API_5XX_RATE_PERCENT = 5
API_MIN_REQUESTS = 10
OLDEST_STRIPE_EVENT = Duration.minutes(15)
# The nightly sweep's rate (contract.SCHEDULES): one NightlyRunsOverdue datapoint per period.
NIGHTLY_SWEEP_PERIOD = Duration.minutes(15)
DEFAULT_CURRENCY = "usd"  # the dashboard's amounts (each currency is its own metric)
GE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


def business_metric(name: str, *, period: Duration = PERIOD, statistic: str = "Sum") -> cloudwatch.Metric:
    """A metric the functions write through Powertools (``contract.METRIC_*``)."""
    return cloudwatch.Metric(
        namespace=contract.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={contract.METRIC_SERVICE_DIMENSION: contract.SERVICE_NAME},
        period=period,
        statistic=statistic,
    )


def amount_metric(name: str, currency: str = DEFAULT_CURRENCY) -> cloudwatch.Metric:
    """``<name>Amount``: minor units of one currency."""
    return cloudwatch.Metric(
        namespace=contract.METRICS_NAMESPACE,
        metric_name=name + contract.METRIC_AMOUNT_SUFFIX,
        dimensions_map={
            contract.METRIC_SERVICE_DIMENSION: contract.SERVICE_NAME,
            contract.METRIC_CURRENCY_DIMENSION: currency,
        },
        period=PERIOD,
        statistic="Sum",
        label=f"{name} ({currency}, minor units)",
    )


class Monitoring(Construct):
    function_alarms: dict[str, dict[str, cloudwatch.Alarm]]
    api_5xx_alarm: cloudwatch.Alarm
    stripe_events_age_alarm: cloudwatch.Alarm
    nightly_overdue_alarm: cloudwatch.Alarm
    dashboard: cloudwatch.Dashboard

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        topic: sns.ITopic,
        functions: Mapping[str, lambda_.IFunction],
        rest_api: apigw.RestApi,
        stripe_events_queue: sqs.IQueue,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        other_alarms: Mapping[str, cloudwatch.IAlarm] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._action = cloudwatch_actions.SnsAction(topic)
        self.function_alarms = {name: self._function_alarms(name, fn) for name, fn in functions.items()}
        self.api_5xx_alarm = self._api_alarm(rest_api)
        self.stripe_events_age_alarm = self._alarm(
            "StripeEventsWaitingAlarm",
            "A Stripe event has waited on the queue over 15 minutes: the stripe-worker is failing or "
            "stopped (its errors and throttles alarms, the DLQ).",
            stripe_events_queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=OLDEST_STRIPE_EVENT.to_seconds(),
        )
        self.nightly_overdue_alarm = self._alarm(
            "NightlyRunsOverdueAlarm",
            "A practice's nightly run is not done two hours after its cutoff (the nightly-dispatch "
            "log names the run: 'nightly run overdue'). Look at the nightly DLQ and the worker's errors.",
            business_metric(
                contract.METRIC_NIGHTLY_RUNS_OVERDUE, period=NIGHTLY_SWEEP_PERIOD, statistic="Maximum"
            ),
            threshold=1,
        )
        self.audit_changed_alarm = self._alarm(
            "AuditItemsChangedAlarm",
            "An audit trail item was overwritten or removed other than by TTL (no function may: the "
            "audit-archive log names its keys, 'audit item changed'). The archive keeps the record "
            "as first written; find who changed it in CloudTrail.",
            business_metric(contract.METRIC_AUDIT_ITEMS_CHANGED),
            threshold=1,
        )
        alarms: list[cloudwatch.IAlarm] = [
            *(a for by_kind in self.function_alarms.values() for a in by_kind.values()),
            self.api_5xx_alarm,
            self.stripe_events_age_alarm,
            self.nightly_overdue_alarm,
            self.audit_changed_alarm,
            *(other_alarms or {}).values(),
        ]
        self.dashboard = self._dashboard(
            stage,
            functions=functions,
            rest_api=rest_api,
            stripe_events_queue=stripe_events_queue,
            dead_letter_queues=dead_letter_queues,
            alarms=alarms,
        )

    def _alarm(
        self, construct_id: str, description: str, metric: cloudwatch.IMetric, *, threshold: float
    ) -> cloudwatch.Alarm:
        """An alarm at ``threshold`` or above on one period, missing data not breaching, that
        notifies the operators (and tells them when it is over)."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=GE,
            treat_missing_data=NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm

    def _function_alarms(self, name: str, fn: lambda_.IFunction) -> dict[str, cloudwatch.Alarm]:
        base = construct_name(name)
        return {
            "Errors": self._alarm(
                f"{base}ErrorsAlarm",
                f"{name} failed (an unhandled error or a timeout) in the last five minutes: see its log.",
                fn.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=1,
            ),
            "Throttles": self._alarm(
                f"{base}ThrottlesAlarm",
                f"{name} was throttled (its reserved concurrency was reached) in the last five minutes.",
                fn.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
            ),
        }

    def _api_alarm(self, rest_api: apigw.RestApi) -> cloudwatch.Alarm:
        stage = rest_api.deployment_stage
        rate = cloudwatch.MathExpression(
            expression=f"IF(requests >= {API_MIN_REQUESTS}, 100 * errors / requests, 0)",
            using_metrics={
                "errors": stage.metric_server_error(period=PERIOD, statistic="Sum"),
                "requests": stage.metric_count(period=PERIOD, statistic="Sum"),
            },
            period=PERIOD,
            label="5xx responses (% of requests)",
        )
        return self._alarm(
            "Api5xxRateAlarm",
            f"At least {API_5XX_RATE_PERCENT}% of the API's responses were 5xx in five minutes "
            "(staff, public or webhook routes): see the functions' errors and the access log.",
            rate,
            threshold=API_5XX_RATE_PERCENT,
        )

    def _dashboard(  # long: one block of widgets per row, read top to bottom
        self,
        stage: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        rest_api: apigw.RestApi,
        stripe_events_queue: sqs.IQueue,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        alarms: list[cloudwatch.IAlarm],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"therabill-{stage}")
        m = contract
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24),
        )
        dashboard.add_widgets(
            _graph(
                "Charges",
                [business_metric(m.METRIC_CHARGES_SUCCEEDED), business_metric(m.METRIC_CHARGES_FAILED)],
            ),
            _graph(
                "Amounts charged, and declined (each declined attempt counts)",
                [amount_metric(m.METRIC_CHARGES_SUCCEEDED), amount_metric(m.METRIC_CHARGES_FAILED)],
            ),
            _graph(
                "Webhooks and emails",
                [
                    business_metric(m.METRIC_WEBHOOKS_APPLIED),
                    business_metric(m.METRIC_WEBHOOKS_DUPLICATE),
                    business_metric(m.METRIC_EMAILS_SENT),
                ],
            ),
        )
        dashboard.add_widgets(
            _graph(
                "Nightly items",
                [
                    business_metric(m.METRIC_NIGHTLY_ITEMS_BILLED),
                    business_metric(m.METRIC_NIGHTLY_ITEMS_INCOMPLETE),
                    business_metric(m.METRIC_NIGHTLY_ITEMS_FAILED),
                ],
            ),
            _graph(
                "Nightly runs",
                [
                    business_metric(m.METRIC_NIGHTLY_RUNS_FINISHED),
                    business_metric(
                        m.METRIC_NIGHTLY_RUNS_OVERDUE, period=NIGHTLY_SWEEP_PERIOD, statistic="Maximum"
                    ),
                ],
            ),
            _graph(
                "Queues: oldest message (s) and dead letters",
                [
                    stripe_events_queue.metric_approximate_age_of_oldest_message(
                        period=PERIOD, statistic="Maximum", label="Stripe events: oldest (s)"
                    ),
                    *(
                        q.metric_approximate_number_of_messages_visible(
                            period=PERIOD, statistic="Maximum", label=name
                        )
                        for name, q in dead_letter_queues.items()
                    ),
                ],
            ),
        )
        stage_ = rest_api.deployment_stage
        dashboard.add_widgets(
            _graph(
                "API requests and errors",
                [
                    stage_.metric_count(period=PERIOD, statistic="Sum"),
                    stage_.metric_client_error(period=PERIOD, statistic="Sum"),
                    stage_.metric_server_error(period=PERIOD, statistic="Sum"),
                ],
            ),
            _graph("API latency (p90, ms)", [stage_.metric_latency(period=PERIOD, statistic="p90")]),
            _graph(
                "Function errors and throttles",
                [
                    metric
                    for name, fn in functions.items()
                    for metric in (
                        fn.metric_errors(period=PERIOD, statistic="Sum", label=f"{name} errors"),
                        fn.metric_throttles(period=PERIOD, statistic="Sum", label=f"{name} throttles"),
                    )
                ],
            ),
        )
        return dashboard


def _graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics, width=8, height=6)
