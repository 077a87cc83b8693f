"""Template assertions for the monitoring: each alarm's metric, namespace, dimensions, statistic,
period, threshold and comparison, its action (the operators' topic), and the dashboard.

The expectations are written out here (numbers, names), not read from monitoring.py, so a change
that loosens an alarm fails here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.test_stack import Synth, _ref, _stripe_events_queue_id
from therabill_infra.contract import contract

pytestmark = pytest.mark.xdist_group("cdk-synth")  # the app synthesized once, on one worker

GE = "GreaterThanOrEqualToThreshold"
FUNCTION_NAMES = [spec.name for spec in contract.FUNCTIONS]


def _topic_id(synth: Synth) -> str:
    (topic_id,) = synth.of_type("AWS::SNS::Topic")
    return topic_id


def _alarms(synth: Synth) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]


def _dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def _notifies_the_operators(synth: Synth, alarm: dict[str, Any]) -> None:
    topic = _ref(_topic_id(synth))
    assert alarm["AlarmActions"] == [topic]
    assert alarm.get("OKActions", [topic]) == [topic]


def _single(synth: Synth, metric_name: str, **dimensions: Any) -> dict[str, Any]:
    found = [
        a
        for a in _alarms(synth)
        if a.get("MetricName") == metric_name
        and all(_dimensions(a).get(k) == v for k, v in dimensions.items())
    ]
    assert len(found) == 1, f"{metric_name} {dimensions}: {len(found)} alarms"
    return found[0]


@pytest.mark.parametrize("name", FUNCTION_NAMES)
@pytest.mark.parametrize("metric_name", ["Errors", "Throttles"])
def test_each_function_has_an_errors_and_a_throttles_alarm(synth: Synth, name: str, metric_name: str) -> None:
    alarm = _single(synth, metric_name, FunctionName=_ref(synth.function_id(name)))
    assert alarm["Namespace"] == "AWS/Lambda"
    assert _dimensions(alarm) == {"FunctionName": _ref(synth.function_id(name))}
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", 300)
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (1, GE, 1)
    assert alarm["TreatMissingData"] == "notBreaching"
    _notifies_the_operators(synth, alarm)


def test_the_api_5xx_rate_alarm(synth: Synth) -> None:
    (api_id,) = synth.of_type("AWS::ApiGateway::RestApi")
    (stage_id,) = synth.of_type("AWS::ApiGateway::Stage")
    rate = [a for a in _alarms(synth) if any("5XXError" in json.dumps(m) for m in a.get("Metrics", []))]
    assert len(rate) == 1
    alarm = rate[0]
    by_id = {m["Id"]: m for m in alarm["Metrics"]}
    expression = by_id[next(i for i, m in by_id.items() if "Expression" in m)]
    assert expression["Expression"] == "IF(requests >= 10, 100 * errors / requests, 0)"
    assert expression.get("ReturnData", True) is True
    for metric_id, metric_name in (("errors", "5XXError"), ("requests", "Count")):
        stat = by_id[metric_id]["MetricStat"]
        assert by_id[metric_id]["ReturnData"] is False
        assert stat["Metric"]["Namespace"] == "AWS/ApiGateway"
        assert stat["Metric"]["MetricName"] == metric_name
        dims = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        assert dims == {"ApiName": synth.resources[api_id]["Properties"]["Name"], "Stage": _ref(stage_id)}
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (5, GE, 1)
    _notifies_the_operators(synth, alarm)


def test_stripe_events_waiting_over_15_minutes_alarm(synth: Synth) -> None:
    queue = _stripe_events_queue_id(synth)
    alarm = _single(synth, "ApproximateAgeOfOldestMessage")
    assert alarm["Namespace"] == "AWS/SQS"
    assert _dimensions(alarm) == {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}
    assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 300)
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (900, GE, 1)
    _notifies_the_operators(synth, alarm)


def test_nightly_runs_overdue_alarm_reads_the_sweeps_metric(synth: Synth) -> None:
    alarm = _single(synth, "NightlyRunsOverdue")
    assert alarm["Namespace"] == "Therabill"
    assert _dimensions(alarm) == {"service": "therabill"}  # the one dimension Powertools writes
    assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 900)  # one sweep per period
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (1, GE, 1)
    _notifies_the_operators(synth, alarm)


def test_the_functions_write_metrics_where_the_alarms_read_them(synth: Synth) -> None:
    for name in FUNCTION_NAMES:
        env = synth.resources[synth.function_id(name)]["Properties"]["Environment"]["Variables"]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Therabill"
        assert env["POWERTOOLS_SERVICE_NAME"] == "therabill"


def test_every_alarm_notifies_the_operators_topic(synth: Synth) -> None:
    alarms = _alarms(synth)
    # errors + throttles per function, the API, the Stripe events, the nightly runs, an audit item
    # changed, five DLQs (the audit archive's failure queue the fifth)
    assert len(alarms) == 2 * len(FUNCTION_NAMES) + 4 + 5
    for alarm in alarms:
        _notifies_the_operators(synth, alarm)


def test_one_dashboard_shows_the_business_metrics_and_the_alarms(synth: Synth) -> None:
    ((_, dashboard),) = synth.of_type("AWS::CloudWatch::Dashboard").items()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "ChargesSucceeded",
        "ChargesFailed",
        "ChargesSucceededAmount",
        "NightlyItemsBilled",
        "NightlyItemsIncomplete",
        "NightlyItemsFailed",
        "NightlyRunsOverdue",
        "WebhooksApplied",
        "WebhooksDuplicate",
        "EmailsSent",
        "5XXError",
        "ApproximateAgeOfOldestMessage",
    ):
        assert f'\\"{metric}\\"' in body, metric
    # The alarm status widget lists every alarm.
    for alarm_id in synth.of_type("AWS::CloudWatch::Alarm"):
        assert json.dumps({"Fn::GetAtt": [alarm_id, "Arn"]}) in body, alarm_id
