"""Adversarial tests: JUNO attacked the way an outsider would, over real HTTP against a real
`juno serve` in production mode (docs/security.md lists what each test defends)."""
