"""The runc-compatible OCI runtime: bundle config (spec.py), state directory
(state.py), commands (runtime.py), the sandbox process (sandbox.py)."""
