"""What writes and reads the warehouse's tables: the model, staging, transforms, checks, engines."""
