"""Benchmarks of remote-oauth against its floors (raw httpx, a bare Temporal workflow) and a peer (Authlib)."""
