"""The practice's payers: the clearinghouse's payers it accepts, and its enrollments with them."""
