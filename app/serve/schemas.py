"""Request bodies, validated at the edge: the OpenAI shapes, the Jina/Cohere rerank shape, Ippon's search."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.retrieval import SearchFilters

Text = Field(min_length=1, max_length=100_000)


class LibraryFilters(BaseModel):
    """Which documents a search (or an ippon-rag answer) may use."""

    folders: list[str] = Field(default_factory=list, max_length=32, description="only files under these folders")
    formats: list[str] = Field(default_factory=list, max_length=32,
                               description="only these formats: pdf, md, txt, html, docx, pptx, csv, tsv, image")
    modified_after: datetime | None = Field(None, description="only files modified since (ISO 8601; UTC if no zone)")
    modified_before: datetime | None = None

    @field_validator("modified_after", "modified_before")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value

    def filters(self) -> SearchFilters:
        return SearchFilters(folders=tuple(self.folders), formats=tuple(self.formats),
                             modified_after=self.modified_after, modified_before=self.modified_before)


class RetrievalOptions(LibraryFilters):
    mode: Literal["hybrid", "lexical", "vector"] = Field("hybrid", description="hybrid fuses keywords and vectors")
    rerank: bool = Field(True, description="rerank with the configured Qwen3-Reranker")


class SearchRequest(RetrievalOptions):
    """POST /v1/search: the library's own hybrid search (Ippon's shape)."""

    query: str = Field(min_length=1, max_length=4000)
    limit: int = Field(10, ge=1, le=100, description="how many results")


class RagOptions(RetrievalOptions):
    top_k: int | None = Field(None, ge=1, le=100, description="sources given to the LLM (default: config top_k)")
    thread: str | None = Field(None, pattern=r"^(new|[0-9a-f]{4,32})$",
                               description='keep the question and its answer in the user\'s conversations: "new" '
                                           'starts one, an id continues it (default: nothing is kept)')


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatRequest(BaseModel):
    """POST /v1/chat/completions. Extensions (OpenAI clients send them through extra_body): `enable_thinking`,
    `thinking_budget`, vLLM's `chat_template_kwargs.enable_thinking`, and `ippon` (retrieval options of
    the ippon-rag model)."""

    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=512)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0)
    min_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    seed: int | None = None
    enable_thinking: bool | None = None
    thinking_budget: int | None = Field(None, ge=1)
    chat_template_kwargs: dict[str, Any] | None = None
    ippon: RagOptions | None = None

    def thinking(self) -> bool:
        if self.thinking_budget is not None:
            return True
        if self.enable_thinking is not None:
            return self.enable_thinking
        return bool((self.chat_template_kwargs or {}).get("enable_thinking", False))


class EmbeddingRequest(BaseModel):
    """POST /v1/embeddings. Extensions: `input_type` ("query" adds Qwen3-Embedding's instruction) and
    `instruction` (a task instruction of one's own; implies a query)."""

    model_config = ConfigDict(extra="ignore")
    model: str
    input: str | list[str] = Field(description="a text or up to 2048 texts")
    dimensions: int | None = Field(None, ge=1, description="Matryoshka size: the vectors are cut and renormalised")
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["query", "document"] = "document"
    instruction: str | None = Field(None, max_length=2000)

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and not 1 <= len(value) <= 2048:
            raise ValueError("input must hold from 1 to 2048 texts")
        return value


class RerankDocument(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str


class RerankRequest(BaseModel):
    """POST /v1/rerank, the shape Jina, Cohere, llama-server and vLLM accept."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    query: str = Field(min_length=1, max_length=8000)
    documents: list[str | RerankDocument] = Field(min_length=1, max_length=1000)
    top_n: int | None = Field(None, ge=1)
    return_documents: bool = False
    instruction: str | None = Field(None, max_length=2000)

    def texts(self) -> list[str]:
        return [d if isinstance(d, str) else d.text for d in self.documents]
