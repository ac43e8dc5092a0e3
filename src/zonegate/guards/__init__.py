"""Detectors and guards: what is in a request, and what may leave the gateway."""
