"""Engine errors. Plain exceptions: the web layer maps them to its own error envelope."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class IncompatibleLoRA(EngineError):
    """A LoRA file that is unreadable or does not fit the loaded base model."""


class TrainingCancelled(EngineError):
    """Training stopped because the caller asked it to."""


class GenerationCancelled(EngineError):
    """Rendering stopped because the caller asked it to."""
