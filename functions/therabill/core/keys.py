"""The table's key design, in one place. docs/architecture.md lists every access pattern.

Every item of a practice lives in the practice's partition, ``P#<practice_id>``, so each read and
write is scoped to one practice by construction: an id sent by a caller only ever selects inside
the caller's own partition.
"""

from __future__ import annotations

from therabill import contract


def practice_pk(practice_id: str) -> str:
    return f"P#{practice_id}"


def practice_id_of(pk: str) -> str:
    """The practice whose partition ``pk`` is (``practice_pk`` read back)."""
    return pk.removeprefix("P#")


PRACTICE_SK = "PRACTICE"


def client_sk(client_id: str) -> str:
    return f"CLIENT#{client_id}"


CLIENT_PREFIX = "CLIENT#"


def contact_sk(client_id: str, contact_id: str) -> str:
    return f"CONTACT#{client_id}#{contact_id}"


def contact_prefix(client_id: str) -> str:
    return f"CONTACT#{client_id}#"


def coverage_sk(client_id: str, coverage_id: str) -> str:
    return f"COVERAGE#{client_id}#{coverage_id}"


def coverage_prefix(client_id: str | None = None) -> str:
    """One client's coverage, or (None) every client's in the practice."""
    return f"COVERAGE#{client_id}#" if client_id else "COVERAGE#"


def card_sk(client_id: str, card_id: str) -> str:
    return f"CARD#{client_id}#{card_id}"


def card_prefix(client_id: str) -> str:
    return f"CARD#{client_id}#"


def consent_sk(consent_id: str) -> str:
    return f"CONSENT#{consent_id}"


def setup_link_sk(link_id: str) -> str:
    return f"SETUPLINK#{link_id}"


def payment_sk(payment_id: str) -> str:
    return f"PAYMENT#{payment_id}"


def ledger_sk(client_id: str, entry_id: str) -> str:
    return f"LEDGER#{client_id}#{entry_id}"


def ledger_prefix(client_id: str) -> str:
    return f"LEDGER#{client_id}#"


def ledger_guard_sk(source_key: str) -> str:
    return f"LEDGERSRC#{source_key}"


def email_sk(dedup_key: str) -> str:
    return f"EMAIL#{dedup_key}"


# -- GSI1: lookups across the practice partition boundary ----------------------------------------
def stripe_account_gsi(account_id: str) -> str:
    """Connect events name the account, not the practice: GSI1PK=ACCT#<acct> → the practice."""
    return f"ACCT#{account_id}"


PENDING_PAYMENTS_GSI = "PENDINGPAY"  # sparse: only payments still waiting on Stripe


def payment_intent_gsi(payment_intent_id: str) -> str:
    """GSI1PK of a payment once Stripe named its PaymentIntent (disputes carry only the PI)."""
    return f"PI#{payment_intent_id}"


def refund_sk(refund_id: str) -> str:
    return f"REFUND#{refund_id}"


def dispute_sk(dispute_id: str) -> str:
    return f"DISPUTE#{dispute_id}"


# -- platform items (not in a practice partition) ------------------------------------------------
def stripe_event_pk(event_id: str) -> str:
    return f"STRIPEEVT#{event_id}"


STRIPE_EVENT_SK = "EVENT"


# -- services, pricing rules and sessions --------------------------------------------------------
def service_sk(service_id: str) -> str:
    return f"SERVICE#{service_id}"


SERVICE_PREFIX = "SERVICE#"


def pricing_rule_sk(client_id: str, service_id: str) -> str:
    return f"PRICING#{client_id}#{service_id}"


def session_sk(client_id: str, session_id: str) -> str:
    """A session lives under its client, so a client's sessions are one Query."""
    return f"SESSION#{client_id}#{session_id}"


def session_prefix(client_id: str) -> str:
    return f"{SESSION_PREFIX}{client_id}#"


SESSION_PREFIX = "SESSION#"  # every session of the practice (not the ``SESSIONID#`` pointers)


def session_pointer_sk(session_id: str) -> str:
    """Immutable pointer session id → client id (written with the session), for GET /sessions/{id}."""
    return f"SESSIONID#{session_id}"


def sessions_by_time_gsi(practice_id: str) -> str:
    """GSI1PK of every session of a practice; GSI1SK = ``<scheduled start, UTC ISO>#<ses>``, so a
    UTC date is a begins_with prefix and a local day is one to three of them."""
    return f"SESSIONS#{practice_id}"


# -- declined payments due for another attempt ---------------------------------------------------
RETRY_DUE_GSI = "RETRYDUE"  # sparse: only declined payments with a retry scheduled


def retry_due_gsi_sk(next_retry_at_iso: str, practice_id: str, payment_id: str) -> str:
    """GSI1SK of a payment waiting for its next attempt: due time first, so due rows come first."""
    return f"{next_retry_at_iso}#{practice_id}#{payment_id}"


def pending_payment_gsi_sk(started_at_iso: str, practice_id: str, payment_id: str) -> str:
    """GSI1SK of a payment in the pending index: the current attempt's start time first."""
    return f"{started_at_iso}#{practice_id}#{payment_id}"


# -- split billing: who pays what share of a client's charges ------------------------------------
def responsibility_sk(client_id: str) -> str:
    return f"RESP#{client_id}"


# -- invoices and the public pay page ------------------------------------------------------------
def invoice_sk(invoice_id: str) -> str:
    return f"INVOICE#{invoice_id}"


INVOICE_COUNTER_SK = "INVCOUNTER"  # the practice's last invoice number (atomic ADD)


def invoice_number_sk(number: str) -> str:
    """Invoice number → invoice id; put-if-absent, so a number is used once per practice."""
    return f"INVNUM#{number}"


def invoice_client_sk(client_id: str, invoice_id: str) -> str:
    """Immutable index row: a client's invoices are one Query."""
    return f"INVCLIENT#{client_id}#{invoice_id}"


def invoice_client_prefix(client_id: str) -> str:
    return f"INVCLIENT#{client_id}#"


def invoice_status_sk(status: str, invoice_id: str) -> str:
    """Index row moved with the invoice's status in the same transaction."""
    return f"INVSTATUS#{status}#{invoice_id}"


def invoice_status_prefix(status: str) -> str:
    return f"INVSTATUS#{status}#"


def invoiced_charge_sk(source_key: str) -> str:
    """Guard: a ledger charge is on at most one invoice that is not void."""
    return f"INVCHARGE#{source_key}"


def invoice_payment_sk(payment_id: str) -> str:
    """Payment started on the pay page → the invoice it pays (written before Stripe is called)."""
    return f"INVPAY#{payment_id}"


INVOICES_DUE_GSI = "INVDUE"  # sparse: open invoices, GSI1SK = <due date>#<prc>#<inv>
INVOICE_REMINDERS_GSI = "INVREMIND"  # sparse: overdue invoices, GSI1SK = <next reminder>#<prc>#<inv>


def invoice_sweep_gsi_sk(when: str, practice_id: str, invoice_id: str) -> str:
    return f"{when}#{practice_id}#{invoice_id}"


def access_ip_pk(source_ip: str) -> str:
    """Platform item: failed invoice lookups of one source IP (windows as sort keys, TTL)."""
    return f"PAYIP#{source_ip}"


# -- sign-up: platform items, outside any practice's partition ------------------------------------
def signup_pk(email_key: str) -> str:
    """A practice's sign-up, by the hash of its owner's normalised email (never the address)."""
    return f"SIGNUP#{email_key}"


SIGNUP_SK = "SIGNUP"


def signup_rate_pk(kind: str, subject: str) -> str:
    """Sign-up attempts of one source IP (``ip``) or one email hash (``email``); windows as sort
    keys, TTL."""
    return f"SIGNUPRATE#{kind}#{subject}"


# -- ledger summaries: one per billing party account and currency --------------------------------
def ledger_summary_sk(client_id: str, owner: str, currency: str) -> str:
    """A billing party account's running receivable and credit (a cache of its entries). ``owner`` is the
    paying contact's id, or ``-`` for the client themself."""
    return f"LEDGERBAL#{client_id}#{owner}#{currency}"


def ledger_summary_prefix(client_id: str) -> str:
    return f"LEDGERBAL#{client_id}#"


# -- paying at booking: payment rules and slot holds ---------------------------------------------
BOOKING_SETTINGS_SK = "BOOKPAY#PRACTICE"  # the practice's first-visit default and hold minutes


def booking_service_rule_sk(service_id: str) -> str:
    return f"BOOKPAY#SERVICE#{service_id}"


def booking_client_rule_sk(client_id: str) -> str:
    return f"BOOKPAY#CLIENT#{client_id}"


def booking_hold_sk(session_id: str) -> str:
    """A session's slot held until its booking payment arrives (one per session awaiting payment)."""
    return f"BOOKHOLD#{session_id}"


BOOKING_HOLDS_GSI = "HOLDEXPIRY"  # sparse: only holds still open, earliest expiry first


def booking_hold_gsi_sk(expires_at_iso: str, practice_id: str, session_id: str) -> str:
    return f"{expires_at_iso}#{practice_id}#{session_id}"


# -- the nightly run -----------------------------------------------------------------------------
def nightly_run_sk(run_date: str) -> str:
    """One run per practice and local date (``run:<prc>:<date>``), created put-if-absent."""
    return f"NIGHTRUN#{run_date}"


NIGHTLY_RUN_PREFIX = "NIGHTRUN#"


def nightly_item_sk(run_date: str, session_id: str) -> str:
    """An item planned into a run: pending → done (with the run's finished counter, one transaction)."""
    return f"NIGHTITEM#{run_date}#{session_id}"


def nightly_item_prefix(run_date: str) -> str:
    return f"NIGHTITEM#{run_date}#"


def nightly_hold_sk(run_date: str, session_id: str) -> str:
    """Staff held a session out of one night's run (until that night's cutoff)."""
    return f"NIGHTHOLD#{run_date}#{session_id}"


def nightly_hold_prefix(run_date: str) -> str:
    return f"NIGHTHOLD#{run_date}#"


TO_BILL_PREFIX = "TOBILL#"


def to_bill_sk(scheduled_start_iso: str, session_id: str) -> str:
    """A completed or no-show session the nightly run has not finished yet, by scheduled start."""
    return f"{TO_BILL_PREFIX}{scheduled_start_iso}#{session_id}"


NIGHTLY_OPEN_GSI = "NIGHTOPEN"  # sparse: runs not yet done, GSI1SK = <started>#<prc>#<date>


# -- clinical documentation state (no clinical content) ------------------------------------------
def supervision_sk(clinician_id: str) -> str:
    """Who supervised a clinician before provider records held it (read until the practice's
    migration has moved it into the clinician's provider record)."""
    return f"{SUPERVISION_PREFIX}{clinician_id}"


SUPERVISION_PREFIX = "SUPERVISION#"


# -- providers (who a claim names) -----------------------------------------------------------------
BILLING_PROVIDER_SK = "BILLINGPROVIDER"  # the practice's billing provider, one per practice
PROVIDER_PREFIX = "PROVIDER#"


def clinician_provider_sk(clinician_id: str) -> str:
    """A clinician's provider record (rendering NPI, taxonomy, credentials, supervisor): one per
    clinician; it replaces the supervision item above."""
    return f"{PROVIDER_PREFIX}{clinician_id}"


# -- staff ---------------------------------------------------------------------------------------
def staff_sk(staff_id: str) -> str:
    return f"STAFF#{staff_id}"


STAFF_PREFIX = "STAFF#"


def staff_email_sk(email: str) -> str:
    """The guard that keeps one staff member per email in a practice."""
    return f"STAFFEMAIL#{email}"


STAFF_OWNERS_SK = "STAFFOWNERS"  # the count of active owners (never below one once set)
# -- the audit trail: its own partition per practice (append-only: function roles are denied
# UpdateItem / DeleteItem on every partition that starts with AUDIT_PK_PREFIX) --------------------
AUDIT_PK_PREFIX = contract.AUDIT_PARTITION_PREFIX


def audit_pk(practice_id: str) -> str:
    return f"{AUDIT_PK_PREFIX}{practice_id}"


AUDIT_RECORD_PREFIX = "REC#"  # the record itself, by id: put-if-absent makes it once
AUDIT_AT_PREFIX = "AT#"  # a copy by time


def audit_record_sk(record_id: str) -> str:
    return f"{AUDIT_RECORD_PREFIX}{record_id}"


def audit_at_sk(at_iso: str, record_id: str) -> str:
    return f"{AUDIT_AT_PREFIX}{at_iso}#{record_id}"


def audit_client_prefix(client_id: str) -> str:
    return f"CLIENT#{client_id}#"


def audit_staff_prefix(staff_id: str) -> str:
    return f"STAFF#{staff_id}#"


def x12_counter_sk(kind: str) -> str:
    """A practice's last X12 control number of one kind (interchange, group, transaction)."""
    return f"X12COUNTER#{kind}"


# -- invitation limits: per practice (its partition) and per address (its own, across practices)
def invite_window_sk(window: int) -> str:
    return f"INVITEWINDOW#{window}"


def invite_address_pk(email_hash: str) -> str:
    return f"INVITERATE#{email_hash}"


# The practice's accepted payers (by the clearinghouse directory's id) and its enrollments with
# them, one per payer and kind of transaction.
ACCEPTED_PAYER_PREFIX = "PAYER#"


def accepted_payer_sk(payer_id: str) -> str:
    return f"{ACCEPTED_PAYER_PREFIX}{payer_id}"


def enrollment_sk(payer_id: str, transaction: str) -> str:
    return f"ENROLLMENT#{payer_id}#{transaction}"


def enrollment_prefix(payer_id: str | None = None) -> str:
    return f"ENROLLMENT#{payer_id}#" if payer_id else "ENROLLMENT#"


def authorization_sk(client_id: str, authorization_id: str) -> str:
    return f"AUTH#{client_id}#{authorization_id}"


def authorization_prefix(client_id: str | None = None) -> str:
    """One client's authorizations, or (None) every client's in the practice."""
    return f"AUTH#{client_id}#" if client_id else "AUTH#"


def authorization_use_sk(session_id: str) -> str:
    """The one use of an authorization a completed session made (put once, deleted on give-back)."""
    return f"AUTHUSE#{session_id}"


# -- the equipment store (shop/): products with their stock counters, the stock's history, orders
# (in ``ORDEREXPIRY`` while their units are reserved) and purchase links ---------------------------
PRODUCT_PREFIX = "PRODUCT#"
ORDER_PREFIX = "ORDER#"
ORDER_EXPIRY_GSI = "ORDEREXPIRY"  # sparse: only reserved orders, earliest expiry first


def product_sk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def stock_adjustment_sk(product_id: str, adjustment_id: str) -> str:
    return f"STOCKADJ#{product_id}#{adjustment_id}"


def stock_adjustment_prefix(product_id: str) -> str:
    return f"STOCKADJ#{product_id}#"


def order_sk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def order_expiry_gsi_sk(expires_at_iso: str, practice_id: str, order_id: str) -> str:
    return f"{expires_at_iso}#{practice_id}#{order_id}"


def purchase_link_sk(link_id: str) -> str:
    return f"PURCHASELINK#{link_id}"
