"""Provider events and APIs turned into calls of billing's domain services."""
