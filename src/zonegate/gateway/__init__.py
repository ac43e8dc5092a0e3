"""The HTTP gateway: ``create_app(config)``, thin handlers, one pipeline, one error mapping."""
