"""Glue of the scheduled maintenance functions (scheduler, late runs, cancellation cleanup)
and of dispatching due runs: storage reads, pure rules, storage writes, in that order."""
