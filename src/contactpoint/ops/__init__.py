"""Operating the service: consistent backups and restores, and metrics for monitoring."""
