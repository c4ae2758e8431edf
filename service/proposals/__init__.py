"""Proposals: the applicant journey from draft to submission."""
