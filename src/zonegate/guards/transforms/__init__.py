"""Transforms chosen by policy: redact or pseudonymise a request, restore pseudonyms in the reply.

``RequestTransformer`` (built once per config, from the gateway's ``Classifier``) rewrites a
request body for a zone, replacing exactly what classification found; the ``Pseudonyms`` it
returns stay in gateway memory for that request and restore the original values in the response
the caller sees, streamed or not.
"""

from zonegate.guards.transforms.chunks import ChunkRestorer
from zonegate.guards.transforms.placeholders import MAX_PLACEHOLDER, PSEUDONYMISE, REDACT
from zonegate.guards.transforms.pseudonyms import Pseudonyms, StreamRestorer
from zonegate.guards.transforms.request import (
    RequestTransformer,
    TransformResult,
    UntransformableData,
)
from zonegate.guards.transforms.scanning import DetectorScanner, Scanned, Scanner

__all__ = [
    "MAX_PLACEHOLDER",
    "PSEUDONYMISE",
    "REDACT",
    "ChunkRestorer",
    "DetectorScanner",
    "Pseudonyms",
    "RequestTransformer",
    "Scanned",
    "Scanner",
    "StreamRestorer",
    "TransformResult",
    "UntransformableData",
]
