"""zonegate: an LLM gateway that routes by data sensitivity, fails closed and audits every call."""

__version__ = "0.1.0"
