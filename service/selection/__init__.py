"""Selection runs: ranking, the funded set, the lottery, decisions and feedback."""
