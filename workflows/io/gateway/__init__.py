"""One request to Remote's gateway: sending it, heartbeating while it is slow, and reading what came back."""
