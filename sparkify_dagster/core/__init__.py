"""What every layer shares: the one settings path, the errors, progress reporting, AWS access."""
