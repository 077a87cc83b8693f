"""Every read and write the nightly run still makes of another capability's items, in one place.

Each method is shaped after the public API that replaces it (named in its comment), so the
switch is mechanical: the client's insurance payer and the invoice's payment pointer. (Sessions'
billing mark and to-do items are read and written through ``SessionService.store``.) Nothing else
in the nightly run touches another capability's items or their keys.
"""

from __future__ import annotations

from therabill.adapters.dynamo import Table
from therabill.core import keys


class ForeignItems:
    def __init__(self, *, table: Table) -> None:
        self._table = table

    # -- clients ------------------------------------------------------------------------------------
    def insurance_payer(self, practice_id: str, client_id: str) -> str | None:
        """The client's insurance payer. Replaced by ``Client.insurance_payer``."""
        item = self._table.get(keys.practice_pk(practice_id), keys.client_sk(client_id))
        payer = (item or {}).get("payer")
        return str(payer) if payer else None

    # -- invoices -----------------------------------------------------------------------------------
    def point_payment(self, practice_id: str, payment_id: str, invoice_id: str) -> None:
        """The payment's pointer to the invoice it pays (a late success still pays it). Replaced by
        ``InvoiceService.point_payment``."""
        self._table.put(
            {
                "PK": keys.practice_pk(practice_id),
                "SK": keys.invoice_payment_sk(payment_id),
                "type": "invoice_payment",
                "invoice_id": invoice_id,
                "payment_id": payment_id,
            }
        )
