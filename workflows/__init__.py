"""Temporal workflows and activities for Remote's OAuth 2.0 token lifecycle."""
