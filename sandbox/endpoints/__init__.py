"""The sandbox's HTTP endpoints, each as the spec and Remote's live gateway define it."""
