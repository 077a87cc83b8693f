"""The clearinghouse: the port that moves X12 documents between the practice and the payers (270
out and 271 back in real time; 837P batches out; 999, 277CA, 277 and 835 in), the payer enrollments
that allow it, and the per-practice control numbers every interchange carries. The documents
themselves are built and read by `therabill.x12`; the adapters (`adapters/stedi.py`, and the local
sandbox that speaks the same API) implement the port."""
