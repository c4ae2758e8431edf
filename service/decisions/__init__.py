"""The history of decisions of a window (read only; decisions are made in service.selection)."""
