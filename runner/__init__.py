"""editroom's runner: claims edits from the PostgreSQL queue and carries them out."""
