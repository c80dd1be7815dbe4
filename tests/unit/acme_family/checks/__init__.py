"""The made-up family's checks."""
