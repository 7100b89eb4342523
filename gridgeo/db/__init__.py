"""Database access: the private cluster, the connection pool and migrations."""
