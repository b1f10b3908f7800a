"""A spec-faithful local stand-in for Remote's OAuth gateway."""
