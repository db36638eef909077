"""Infrastructure: settings, database, embedded PostgreSQL, logging, metrics, the ASGI app, the CLI."""
