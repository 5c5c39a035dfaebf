"""Code every Serverflow Lambda shares: API routers, schemas, orchestration, scheduling, storage."""
