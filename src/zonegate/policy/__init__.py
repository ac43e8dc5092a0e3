"""The policy: which models a request's data may reach. Pure functions, no I/O."""
