"""Shared test helpers: builders of inputs, readers of outputs, the CLI as a user runs it. Test modules import
from here, never from each other."""
