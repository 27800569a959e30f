"""Switchboard's domain: rules, storage and the worker. No UI, no provider SDK."""
