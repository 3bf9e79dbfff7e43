"""`juno chat`: a terminal client that talks to a running `juno serve` exactly like Teams."""
