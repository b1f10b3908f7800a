"""(7) Cost per company in billable Temporal actions: the counter (``meter``) and the scenario."""
