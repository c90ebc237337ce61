"""orchestrator-contract: contract tests and fuzzing for the Conversation Orchestrator Configurations API."""

__version__ = "0.1.0"
