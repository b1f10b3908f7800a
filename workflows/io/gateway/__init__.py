"""One request to Remote's gateway: building it as the spec says, sending it, heartbeating while it is slow, and
reading what came back."""
