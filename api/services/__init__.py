"""Thin orchestration behind the routes: accounts, access to the latest run's data,
policy drafts and simulation, benefits, demo data."""
