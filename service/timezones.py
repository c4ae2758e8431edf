"""The project's one time zone on screen: times are stored in UTC and shown in Asia/Bishkek."""

from __future__ import annotations

from zoneinfo import ZoneInfo

BISHKEK = ZoneInfo("Asia/Bishkek")
"""Kyrgyzstan's time (UTC+6, no daylight saving): dates of the programme's calendar."""
