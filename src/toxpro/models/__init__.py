"""Model backends behind one async ChatModel interface."""

from .base import ChatModel, ChatRequest, ChatResponse, ModelError, Sampling, ToolCall, ToolSpec, Usage
from .factory import build_model
from .retry import RetryPolicy
from .spec import ModelSpec, ModelSpecError, parse_model

__all__ = [
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "ModelError",
    "ModelSpec",
    "ModelSpecError",
    "RetryPolicy",
    "Sampling",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "build_model",
    "parse_model",
]
