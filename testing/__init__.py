"""Scaffolding for tests and benchmarks: never imported by the product (an import contract says so)."""
