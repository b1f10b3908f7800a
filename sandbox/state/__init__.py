"""What the sandbox remembers between requests (and, with a state file, between runs)."""
