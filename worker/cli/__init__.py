"""The ``remote-oauth`` command line."""
