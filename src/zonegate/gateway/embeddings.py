"""``POST /v1/embeddings``: the same steps as chat (classify, decide, transform, audit).

Embedding inputs often are the documents an organisation indexes, so they are classified and
routed like any prompt: a restricted document is embedded only by a model in a zone cleared for
it, or with its values replaced by placeholders where the zone's transforms say so (there is
nothing to restore in a vector). The input is not scored for prompt injection, as no model follows
it as instructions.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from zonegate.gateway.dispatch import Dispatcher
from zonegate.gateway.facts import RequestFacts
from zonegate.gateway.services import GatewayServices
from zonegate.gateway.sse import SSEResponse
from zonegate.gateway.steps import Pipeline, validated
from zonegate.wire.openai_embeddings import EmbeddingRequest


class EmbeddingsPipeline(Pipeline):
    endpoint = "embeddings"

    def __init__(self, services: GatewayServices) -> None:
        super().__init__(services)
        self.dispatch = Dispatcher(services)

    async def _run(self, request: Request, facts: RequestFacts) -> Response | SSEResponse:
        principal = await self._authenticate(request, facts)
        data = await self._read_json(request)
        req = validated(EmbeddingRequest, data, "embeddings")
        facts.requested_model = req.model
        facts.params = {"inputs": len(req.texts()), "encoding_format": req.encoding_format}
        if req.dimensions is not None:
            facts.params["dimensions"] = req.dimensions
        classified = self._classify(data, request.headers, req.metadata, facts)
        self._route(req.model, facts)
        decision = self._decide(principal, req.model, classified, facts)
        result = await self.dispatch.embed(req, data, classified.found, decision, facts)
        facts.content = self._retained(facts, data, None)
        return Response(
            result.__pydantic_serializer__.to_json(result, exclude_none=True),
            media_type="application/json",
        )
