"""Find circuits in language models in seconds with discrete sparse autoencoders."""

from .result import CircuitResult
from .task import Head, Task

__all__ = ["CircuitResult", "Head", "Task"]
