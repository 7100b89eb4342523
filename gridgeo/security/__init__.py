"""Who may do what: bearer tokens, roles, collection access and hardening."""
