"""The model's tools: their specs, path confinement, what they do to the project, and the runner that asks first."""
