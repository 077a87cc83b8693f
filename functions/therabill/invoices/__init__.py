"""Invoices: numbering, statuses, PDFs and emails, the pay page's access guard, reports."""
