"""The audit log: one mechanism every service uses to record its state changes."""
