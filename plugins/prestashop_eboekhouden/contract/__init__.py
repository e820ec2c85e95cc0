"""Machine-readable contracts of the external APIs, written by us from their official descriptions."""
