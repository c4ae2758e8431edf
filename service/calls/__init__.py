"""Calls for proposals, funding windows, rule sets, the eligibility check."""
