"""HTTP edges: the partner-facing app, the admin app, and the one error mapping."""
