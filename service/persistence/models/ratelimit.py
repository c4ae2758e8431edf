"""The API's request counts per fixed window (service/identity/ratelimit.py)."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class RateLimitCount(SQLModel, table=True):
    """Requests claimed by the workers in one window for one subject (`key:…`, `token:…`,
    `ip:…`, `anon:…`). UNLOGGED: not written to the WAL (no replication, emptied after a crash,
    which only starts the counts again), cheap to update. The window comes first in the key so
    that the purge of ended windows is a range of the primary key."""

    __tablename__ = "rate_limit_count"
    __table_args__ = (
        sa.CheckConstraint("used >= 0", name="used_not_negative"),
        {"prefixes": ["UNLOGGED"]},
    )

    window_start: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), primary_key=True)
    )
    subject: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    used: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
