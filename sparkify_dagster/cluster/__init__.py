"""The Redshift cluster's lifecycle on AWS: validated settings, idempotent steps, dwh.cfg."""
