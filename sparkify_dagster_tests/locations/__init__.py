"""Small code locations the daemon tests load beside the product's."""
