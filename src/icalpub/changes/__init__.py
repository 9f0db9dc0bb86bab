"""What was published before, and what changes now: the state file and SEQUENCE rules."""
