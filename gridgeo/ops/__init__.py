"""Running gridgeo in production: request ids and logs, health, metrics, deployment files,
backups."""
