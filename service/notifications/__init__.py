"""E-mail notifications: written to the outbox with the change (`notify…`), sent by the job
queue in the recipient's language (`sender`), as each person chose (preferences)."""
