"""``remote-oauth dev``: the whole stack on 127.0.0.1 for a first run and demos."""
