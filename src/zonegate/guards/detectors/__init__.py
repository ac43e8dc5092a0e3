"""Built-in detectors, registered through the ``zonegate.detectors`` entry points."""
