"""editroom's HTTP service, and the pieces the runner shares with it (settings, database)."""
