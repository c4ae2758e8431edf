"""Funding sources, and (later) contributions, commitments and the disbursement ledger."""
