"""A small Django shop, measured by benchmatrix as a user's own project would be."""
