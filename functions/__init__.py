"""One deployable Lambda per folder: handler.py only wires a router to Mangum and Powertools."""
