"""How a deployment is doing: probes for its orchestrator (``probes``) and ``remote-oauth doctor`` for its
operator (``doctor``, over ``temporal_side`` and ``remote_side``, printed by ``report``).

Import the module you need: the web app imports only the probes, never the doctor's checks.
"""
