"""Built-in scorers, one module per family, each registered under the ``zonegate.scorers`` entry
points exactly as a third-party scorer would be (``registry`` finds and builds them)."""
