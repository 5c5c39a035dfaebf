"""HTTP layer: one router per Prefect domain plus the app factory."""
