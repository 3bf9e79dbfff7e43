"""Harnesses the tests share: fake peers, servers, seeds, oracles."""
