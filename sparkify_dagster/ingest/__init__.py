"""What only reads raw data: local and S3 sources, the parsers, the sample and the generator."""
