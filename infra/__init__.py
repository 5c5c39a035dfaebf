"""Infrastructure: readers of template.yaml, the CDK app, and the local emulation."""
