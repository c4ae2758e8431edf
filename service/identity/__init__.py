"""Identity: users, roles, organisations and memberships, tokens, API keys."""
