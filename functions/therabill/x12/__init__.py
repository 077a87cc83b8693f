"""X12 5010: bytes in, typed values out, and back. A pure library: no AWS, no I/O.

The foundation (delimiters, segments, the reader with its envelope checks, the writer with its
control-number port) is shared by every transaction set; each transaction set lives in its own
subpackage (`eligibility/`: 270 built, 271 read; later claims, status, acknowledgments, remittance).
"""
