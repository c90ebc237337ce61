"""Tests of the reference server (src/orchestrator_contract/server)."""
