"""`make bench`: editroom measured beside a peer doing the same work, in the same run."""
