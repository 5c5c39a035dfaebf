"""Pure block logic (no I/O): schema checksums, secret masking, references inside document data."""
