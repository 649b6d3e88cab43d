"""OpenAI Chat Completions wire models: lenient on input (unknown fields accepted), exact on output."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.schemas import Text

MODEL_ID = "report-qa"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: Text | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type in ("text", "input_text"))
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # frontends send many optional fields; unknown ones are ignored
    model: Text = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: Text | list[Text] | None = None
    top_k: int = Field(5, ge=1, le=50, description="passages retrieved (extension)")

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def stop_sequences(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "report-qa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    annotations: list[dict[str, Any]] = Field(default_factory=list, description="url_citation per citation")


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[dict[str, Any]]  # the /v1/ask citation shape
    answer_mode: str = Field(description="extractive or llm (extension)")


class CompletionRequest(BaseModel):
    """The legacy Completions request: the prompt is the question."""

    model_config = ConfigDict(extra="allow")
    model: Text = MODEL_ID
    prompt: Text | list[Text] = Field(description="the question (a list: its last element)")
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    stop: Text | list[Text] | None = None

    def prompt_text(self) -> str:
        text = self.prompt[-1] if isinstance(self.prompt, list) and self.prompt else self.prompt
        return text if isinstance(text, str) else ""

    def stop_sequences(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class CompletionChoice(BaseModel):
    text: str
    index: int = 0
    logprobs: None = None
    finish_reason: str


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage


class InputContent(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "input_text"
    text: Text | None = None


class InputItem(BaseModel):
    """A message of the Responses API input; other item kinds (tool calls and outputs) carry no question."""

    model_config = ConfigDict(extra="allow")
    type: str = "message"
    role: Text | None = None
    content: Text | list[InputContent] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type in ("input_text", "output_text", "text"))
        return self.content or ""


class ResponsesRequest(BaseModel):
    """The Responses API request: `input` as a string (the question) or the conversation as messages."""

    model_config = ConfigDict(extra="allow")
    model: Text = MODEL_ID
    input: Text | list[InputItem]
    instructions: Text | None = None
    stream: bool = False
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    previous_response_id: Text | None = None

    def messages(self) -> list[tuple[str, str]]:
        """(role, text) of the conversation, oldest first; a string input is one user message."""
        if isinstance(self.input, str):
            return [("user", self.input)]
        return [(item.role or "user", item.text()) for item in self.input if item.type == "message"]
