"""Provider set-up: who bills the claims and who renders the sessions. Pure: the identifiers
(NPI, EIN, SSN), the billing provider's US street address, the NUCC taxonomy codes a therapy
practice bills under, and the models built on them. No store and no API yet."""
