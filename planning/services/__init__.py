"""Planning writes. Every function is atomic, locks what it changes and writes the audit log."""
