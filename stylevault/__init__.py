"""StyleVault: licensed drawing styles with provenance."""
