"""Webhooks: partner subscriptions, events written to the outbox in the transaction of the change
(`emit`), signed deliveries by the job queue with retries and a delivery log."""
