"""Peer engines the benchmark measures our engine against, each on the same ASTs and data."""
