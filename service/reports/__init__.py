"""Grantee reports: progress and financial reports, their review, attachments."""
