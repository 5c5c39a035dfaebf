"""The only package that knows the DynamoDB table's keys. See ACCESS_PATTERNS.md beside it."""
