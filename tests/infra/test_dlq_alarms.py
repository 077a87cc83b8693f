"""Every dead-letter queue has one alarm: any message visible in it, over five minutes, at
threshold 1, to the operators' topic. The numbers are written out here, so loosening one fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.test_monitoring import GE, _alarms, _dimensions, _notifies_the_operators
from tests.infra.test_stack import Synth

pytestmark = pytest.mark.xdist_group("cdk-synth")  # the app synthesized once, on one worker


def _dead_letter_queues(synth: Synth) -> set[str]:
    """Every queue with no redrive policy of its own: a working queue has one, so any other queue
    is a dead-letter queue (the scheduler's is named by the schedules the app makes at run time)."""
    return {
        rid for rid, r in synth.of_type("AWS::SQS::Queue").items() if "RedrivePolicy" not in r["Properties"]
    }


def _referenced_as_dead_letters(synth: Synth) -> set[str]:
    """Every queue some queue's redrive policy or some function's DeadLetterConfig points at."""
    targets: set[str] = set()
    for props in (r["Properties"] for r in synth.of_type("AWS::SQS::Queue").values()):
        if "RedrivePolicy" in props:
            targets.add(props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
    for props in (r["Properties"] for r in synth.of_type("AWS::Lambda::Function").values()):
        if "DeadLetterConfig" in props:
            targets.add(props["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0])
    return targets


def _queue_alarms(synth: Synth, queue_id: str) -> list[dict[str, Any]]:
    name = {"Fn::GetAtt": [queue_id, "QueueName"]}
    return [a for a in _alarms(synth) if _dimensions(a).get("QueueName") == name]


def test_every_dead_letter_queue_alarms_on_its_first_message(synth: Synth) -> None:
    dlqs = _dead_letter_queues(synth)
    # The Stripe events', the nightly run's, the scheduled functions' and the scheduler's.
    assert len(dlqs) >= 4 and _referenced_as_dead_letters(synth) <= dlqs
    for queue_id in dlqs:
        (alarm,) = _queue_alarms(synth, queue_id)
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 300)
        assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (1, GE, 1)
        assert alarm["TreatMissingData"] == "notBreaching"
        _notifies_the_operators(synth, alarm)


def test_no_working_queue_parks_its_failures_in_another_working_queue(synth: Synth) -> None:
    working = set(synth.of_type("AWS::SQS::Queue")) - _dead_letter_queues(synth)
    assert working and not working & _referenced_as_dead_letters(synth)
