"""JUNO for Teams: the composition root (settings, CLI, wiring, logging)."""
