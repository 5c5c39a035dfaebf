"""The flow and task run engines: state machines that drive a function call and report its states."""
