"""Executing a grid: the sweep over the store, executors (sequential, process pool, stacked, Ray),
their workers, shipping of in-memory data and models, progress, and the comparison they make."""
