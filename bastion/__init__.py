"""Bastion: an application kernel in Python. `bastion run -- CMD` on the
command line; `from bastion import Sandbox` from Python (api.py)."""

_API = ("Sandbox", "Mount", "Limits", "Result", "SandboxError", "SetupError", "SandboxClosed")
__all__ = list(_API)


def __getattr__(name):  # the API loads on first use: the CLI's start-up stays lean
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'bastion' has no attribute {name!r}")
