"""Territories, PCCs and their action plans."""
