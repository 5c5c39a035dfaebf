"""Event ingestion shared by POST /events, WS /events/in and the API Gateway websocket Lambda."""
