"""Documents' background jobs (filled in below)."""
