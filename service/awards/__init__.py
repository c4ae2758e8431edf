"""Grants (awards): making and amending them, the tranche lifecycle, the disbursement ledger."""
