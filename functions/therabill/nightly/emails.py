"""The nightly run's emails to the practice: the evening summary and the run report. Staff-facing:
they name clients and amounts, never clinical detail."""

from __future__ import annotations

from datetime import date

from therabill.core.money import Money
from therabill.nightly.listing import Listing
from therabill.nightly.models import Report
from therabill.notifications.mailer import Email
from therabill.practices.models import Practice


def _m(amount: int, currency: str) -> str:
    return Money(amount=amount, currency=currency).format()


def evening_summary(listing: Listing) -> Email:
    p = listing.practice
    ready = listing.of("ready")
    charge, send = listing.tonight("charge"), listing.tonight("send")
    lines = [
        f"Tonight's billing run for {p.name} ({listing.run_date.isoformat()}, cutoff "
        f"{listing.cutoff_at.strftime('%Y-%m-%d %H:%M UTC')}):",
    ]
    if not p.auto_billing:
        lines.append(f"Auto-billing is off: {len(ready)} Ready item(s) wait for staff to bill them.")
    elif not listing.decision_runs:
        lines.append(f"No run tonight: {listing.decision_reason}.")
    lines += [
        f"Cards to charge: {len(charge)} ({_m(sum(a.amount for _, a in charge), p.currency)})",
        f"Invoices to send: {len(send)} ({_m(sum(a.amount for _, a in send), p.currency)})",
        f"Waiting for staff: {len(listing.waiting('staff'))}",
        f"Monthly clients, billed on their billing date: {len(listing.waiting('later'))}",
        f"Held: {len(listing.of('held'))}",
        f"Incomplete (left out): {len(listing.of('incomplete'))}",
        f"Skipped ($0 or not billed): {len(listing.of('skipped'))}",
        "",
    ]
    for f, a in listing.items:
        what = listing.will(f, a)
        what += " (backfill)" if f.before_auto == "backfill" and a.state == "ready" else ""
        why = f" — {', '.join(a.reason_texts)}" if a.reasons else ""
        lines.append(
            f"- {f.service_date.isoformat()} {f.client_name}: {what} {_m(a.amount, p.currency)}{why}"
        )
    lines.append("")
    lines.append("Hold or waive items before the cutoff in Therabill.")
    return Email(to=p.email, subject=f"Tonight's billing run: {len(ready)} ready", text="\n".join(lines))


def run_report(practice: Practice, run_id: str, run_date: date, report: Report) -> Email:
    cur = practice.currency
    lines = [
        f"Billing run {run_date.isoformat()} for {practice.name} is done ({run_id}).",
        f"Items billed: {report.items_billed} ({_m(report.amount_billed, cur)})",
        f"Cards charged: {report.cards_charged} ({_m(report.amount_charged, cur)})",
        f"Invoices sent: {report.invoices_sent}",
        f"Claims submitted: {report.claims_submitted}",
        f"Payments still pending: {report.pending}",
        f"Held: {len(report.held)}",
        f"Incomplete (left out): {report.incomplete}",
        f"Skipped ($0 or not billed): {report.skipped}",
        f"Failures: {len(report.failures)}",
    ]
    if report.waiting:
        lines.insert(-1, f"Waiting for staff (not selected): {report.waiting}")
    if report.later:
        lines.insert(-1, f"Monthly clients, billed on their billing date: {report.later}")
    if report.invoices_consolidated:
        lines.insert(2, f"Monthly invoices (several sessions each): {report.invoices_consolidated}")
    lines += [f"- {f['session_id']}: {f['reason']}" for f in report.failures]
    return Email(
        to=practice.email,
        subject=(
            f"Billing run {run_date.isoformat()}: {report.items_billed} billed, {len(report.failures)} failed"
        ),
        text="\n".join(lines),
    )
