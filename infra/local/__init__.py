"""Local emulation: the whole stack on loopback (`python -m infra.local`)."""
